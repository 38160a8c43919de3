// Exponential template instantiation: must end within the compile limits.
template <int N, int M> struct B { enum { v = B<N - 1, M + 1>::v + B<N - 1, M * 2 + 1>::v }; };
template <int M> struct B<0, M> { enum { v = 1 }; };
int main() { return B<40, 0>::v; }
