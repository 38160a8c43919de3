// A typical competitive-programming C++ program: iostream, STL, exceptions, threads, chrono.
#include <bits/stdc++.h>
using namespace std;
int main(int argc, char **argv) {
    ios::sync_with_stdio(false);
    cin.tie(nullptr);
    long long n;
    if (!(cin >> n)) return 1;
    vector<long long> v(n);
    iota(v.begin(), v.end(), 1);
    shuffle(v.begin(), v.end(), mt19937(random_device{}()));
    sort(v.begin(), v.end());
    long long s = 0;
    thread t([&] { s = accumulate(v.begin(), v.end(), 0LL); });
    t.join();
    map<string, int> m{{"a", 1}};
    unordered_map<int, int> um{{1, 2}};
    try { throw runtime_error("x"); } catch (const exception &e) { m[e.what()] = 2; }
    auto t0 = chrono::steady_clock::now();
    (void)t0;
    cout << s << " " << m.size() + um.size() << "\n";
    if (argc > 1) throw logic_error("uncaught");
    return 0;
}
