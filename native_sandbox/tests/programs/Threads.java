public class Threads {
    public static void main(String[] a) throws Exception {
        Thread[] ts = new Thread[8];
        final int[] sum = new int[1];
        for (int i = 0; i < ts.length; i++) { final int k = i; ts[i] = new Thread(() -> { synchronized (sum) { sum[0] += k; } }); ts[i].start(); }
        for (Thread t : ts) t.join();
        System.out.println("threads ok " + sum[0]);
    }
}
