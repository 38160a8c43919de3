// One Go binary, many behaviours: `hostile_go MODE [ARGS]`.  Used by test_go_javascript.py.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var big [300 << 20]byte

func depth(n int) int {
	var pad [8]int
	pad[n%8] = n
	if n == 0 {
		return 0
	}
	return 1 + depth(n-1) + pad[0]*0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func arg(i int) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return ""
}

func main() {
	switch arg(1) {
	case "hello":
		fmt.Println("hello")
	case "exec": // os/exec: clone without CLONE_THREAD
		err := exec.Command("/bin/sh", "-c", "echo pwned > "+arg(2)).Run()
		fmt.Println("exec returned", err)
	case "forkexec":
		_, err := syscall.ForkExec("/bin/true", []string{"true"}, nil)
		fmt.Println("forkexec returned", err)
	case "rawfork":
		pid, _, errno := syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
		fmt.Println("fork returned", pid, errno)
	case "execve": // replace ourselves: only the helper's one execve is allowed
		err := syscall.Exec("/bin/sh", []string{"sh", "-c", "echo pwned > " + arg(2)}, nil)
		fmt.Println("exec returned", err)
	case "dial":
		c, err := net.Dial("tcp", "127.0.0.1:"+arg(2))
		fmt.Println("dial returned", c, err)
	case "unix":
		c, err := net.Dial("unix", "/tmp/x.sock")
		fmt.Println("dial returned", c, err)
	case "environ":
		for _, e := range os.Environ() {
			fmt.Println("ENV", e)
		}
		for _, p := range []string{"/proc/1/environ", "/proc/self/environ", arg(2)} {
			data, err := os.ReadFile(p)
			fmt.Printf("FILE %s %q %v\n", p, data, err)
		}
	case "write":
		for _, p := range os.Args[2:] {
			err := os.WriteFile(p, []byte("escaped\n"), 0o644)
			if err == nil {
				fmt.Printf("%s: created\n", p)
			} else {
				fmt.Printf("%s: %v\n", p, err)
			}
		}
	case "threadbomb": // goroutines blocked in syscalls each hold an OS thread
		for i := 0; ; i++ {
			go func() {
				runtime.LockOSThread()
				time.Sleep(time.Hour)
			}()
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	case "spin":
		x := 0
		for i := 1; i != 0; i++ {
			x ^= i
		}
		fmt.Println(x)
	case "spin_goroutines":
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := 0
				for i := 1; i != 0; i++ {
					x ^= i
				}
				fmt.Println(x)
			}()
		}
		wg.Wait()
	case "busy": // until the process has used N ms of CPU
		ms, _ := strconv.Atoi(arg(2))
		x := 0
		for cpuSeconds() < float64(ms)/1000 {
			for i := 0; i < 100000; i++ {
				x += i
			}
		}
		fmt.Println("busy", x > 0)
	case "touch": // N MiB, touched
		mb, _ := strconv.Atoi(arg(2))
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		fmt.Println("touched", len(b)>>20)
	case "membomb":
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	case "huge": // far beyond any limit: the runtime's own out-of-memory
		b := make([]byte, 1<<45)
		b[len(b)-1] = 1
		fmt.Println(len(b))
	case "static": // the 300 MiB static array, touched
		for i := range big {
			big[i] = byte(i)
		}
		fmt.Println(big[12345])
	case "recurse":
		fmt.Println(depth(1000000))
	case "read": // N numbers, summed
		r := bufio.NewReaderSize(os.Stdin, 1<<16)
		var n, x, sum int64
		fmt.Fscan(r, &n)
		for i := int64(0); i < n; i++ {
			fmt.Fscan(r, &x)
			sum += x
		}
		fmt.Println(sum)
	case "flood":
		w := bufio.NewWriter(os.Stdout)
		for {
			w.WriteString("flood flood flood flood flood flood flood flood flood flood\n")
		}
	case "threads":
		runtime.GOMAXPROCS(4)
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		for g := 0; g < 28; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				mu.Lock()
				n++
				mu.Unlock()
			}()
		}
		wg.Wait()
		fmt.Println("threads ok", n)
	case "panic":
		var a []int
		fmt.Println(a[5])
	case "gomaxprocs":
		fmt.Println(runtime.GOMAXPROCS(0))
	default:
		fmt.Println("unknown mode", arg(1))
		os.Exit(64)
	}
}
