package rie

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// descendants returns the ids of every living process below pid, children
// first. It reads /proc where there is one and asks ps elsewhere.
func descendants(pid int) ([]int, error) {
	parents, err := parentTable()
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for child, parent := range parents {
		children[parent] = append(children[parent], child)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out, nil
}

// parentTable maps every process id to its parent's.
func parentTable() (map[int]int, error) {
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		return procParents()
	}
	return psParents()
}

func procParents() (map[int]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	parents := make(map[int]int, len(stats))
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // the process exited meanwhile
		}
		pid, ppid, ok := parseStat(data)
		if ok {
			parents[pid] = ppid
		}
	}
	return parents, nil
}

// parseStat reads pid and ppid from a /proc/<pid>/stat line:
// "pid (comm) state ppid ...", where comm may itself hold spaces and parens.
func parseStat(data []byte) (pid, ppid int, ok bool) {
	open := bytes.IndexByte(data, '(')
	closing := bytes.LastIndexByte(data, ')')
	if open < 0 || closing < open {
		return 0, 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data[:open])))
	if err != nil {
		return 0, 0, false
	}
	fields := strings.Fields(string(data[closing+1:]))
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	if err != nil {
		return 0, 0, false
	}
	return pid, ppid, true
}

func psParents() (map[int]int, error) {
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "ppid=").Output()
	if err != nil {
		return nil, fmt.Errorf("list processes with ps: %w", err)
	}
	parents := map[int]int{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil {
			parents[pid] = ppid
		}
	}
	return parents, nil
}
