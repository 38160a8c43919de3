"""Java classes with non-ASCII names in the box (issue 15): javac writes `Имя.java` /
`Имя.class` and java finds the class named on its command line only when the box has a
UTF-8 locale (the JVM decodes file names and argv with the locale's charset, and no flag
changes that), and the program's text I/O is UTF-8."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.usefixtures("isolated")

# The environment and flags the Java executor uses (executor_java/spec.py).
ENV = ["LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HOME=/tmp"]
UTF8_IO = ["-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8", "-Dsun.stderr.encoding=UTF-8"]
JAVAC = ["/usr/bin/javac", "-J-Xmx512m", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1",
         *(f"-J{f}" for f in UTF8_IO), "-encoding", "UTF-8", "-nowarn", "-proc:none", "-d", "."]
JAVA = ["/usr/bin/java", "-Xmx256m", "-Xss64m", "-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData",
        *UTF8_IO, "-cp", "."]

SOURCE = """package пакет;
import java.util.Scanner;
public class Привет {
    public static void main(String[] args) {
        String who = new Scanner(System.in).nextLine();
        System.out.println("привет, " + who + " 你好 𝑥");
        System.err.println("ошибка");
    }
}
"""


def test_box_has_a_utf8_locale(sb):
    r = sb.run(["/usr/bin/java", "-XshowSettings:properties", "-version"], profile="java", files=[],
               env=ENV, procs=64, time_ms=5000, wall_ms=10000)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert "sun.jnu.encoding = UTF-8" in r.err(), r.err()


def test_non_ascii_class_compiles_and_runs(sb):
    job = sb.job([])
    source = job / "box" / "Привет.java"
    source.write_bytes(SOURCE.encode())
    os.chmod(source, 0o644)
    r = sb.run([*JAVAC, "Привет.java"], profile="compile", files=[], job=job, env=ENV,
               memory_mb=1024, procs=64, time_ms=10000, wall_ms=20000)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert "Привет.class".encode() in os.listdir(os.fsencode(job / "box" / "пакет"))

    r = sb.run([*JAVA, "пакет.Привет"], profile="java", files=[], job=job, env=ENV, tests=["мир\n"],
               procs=64, time_ms=5000, wall_ms=10000)
    assert r.run["status"] == "OK" and r.run["exit_code"] == 0, (r.run, r.err())
    assert (job / "tests" / "1.out").read_bytes() == "привет, мир 你好 𝑥\n".encode()
    assert (job / "tests" / "1.err").read_bytes() == "ошибка\n".encode()
