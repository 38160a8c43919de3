public class Exec {
    public static void main(String[] a) throws Exception {
        Process p = Runtime.getRuntime().exec(new String[] { "/bin/sh", "-c", "echo pwned > " + a[0] });
        System.out.println("exec returned " + p.waitFor());
    }
}
