# What the benchmark scripts measure of a server process, sourced by
# stage-06's compare.sh and stage-07's: CPU time and peak memory of a
# process tree (a master and its workers), read from /proc, and the
# median and largest of a list of figures.

# A process and all its descendants.
tree() {
    local p
    echo "$1"
    for p in $(pgrep -P "$1" || true); do tree "$p"; done
}

# CPU time (user + system, in clock ticks) used so far by a process tree:
# divided by the requests served, it is the server's cost per request,
# kernel work included, which depends much less than requests/s on what
# else the machine is doing (wrk shares it too).
cpu_ticks() {
    local sum=0 t p
    for p in $(tree "$1"); do
        t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}
tick_us=$((1000000 / $(getconf CLK_TCK)))

# The largest peak RSS (VmHWM, KiB) in a process tree.
peak_rss() {
    local max=0 kb p
    for p in $(tree "$1"); do
        kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$max" ] && max=$kb
    done
    echo "$max"
}

# The median of the numbers in $1. p99 values keep their unit (wrk prints
# us, ms or s), so they are compared in microseconds.
median() {
    tr ' ' '\n' <<<"$1" | awk 'NF {
        v = $1; if (v ~ /ms$/) v = v * 1000; else if (v ~ /us$/) v = v + 0; else if (v ~ /s$/) v = v * 1000000
        print v }' | sort -g | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m}'
}

# The largest of the numbers in $1.
largest() { tr ' ' '\n' <<<"$1" | sort -g | tail -1; }
