import java.util.ArrayList;
public class Oom {
    public static void main(String[] a) {
        ArrayList<long[]> keep = new ArrayList<>();
        while (true) keep.add(new long[1 << 20]);
    }
}
