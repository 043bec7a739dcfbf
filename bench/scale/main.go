// Command scale measures how the registry's admin calls and start grow
// with the number of endpoints, through a real Caddy and its admin API.
// For each size it prints: the time to create one record (the first
// records of an empty registry, and the last ones at that size), a full
// sync of every record, a sync with nothing pending, a sync after one
// record changed, the time from starting Caddy to the first 200 of an
// endpoint, and the Caddy process's memory.
//
//	go run ./bench/scale [-sizes 1000,10000,100000] [-caddy bin/caddy] [-api-max 10000]
//
// Sizes above -api-max are created by writing draft files into the file
// storage before Caddy starts (the API would take minutes); the last
// -sample records of every size are still created through the API, and
// those are what "create at N" reports.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	sizesFlag := flag.String("sizes", "1000,10000,100000", "endpoint counts, comma-separated")
	caddyBin := flag.String("caddy", "", "Caddy binary with the endpoint module (default: build ./cmd/caddy)")
	apiMax := flag.Int("api-max", 10000, "largest size created wholly through the admin API")
	sample := flag.Int("sample", 200, "records created through the API last, for the create figure")
	rounds := flag.Int("rounds", 5, "repetitions of each sync measurement (median reported)")
	flag.Parse()

	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail("bad size %q", s)
		}
		sizes = append(sizes, n)
	}
	bin := *caddyBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "endpoint-scale-bin-")
		check(err, "making a directory for the binary")
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "caddy")
		build := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		check(build.Run(), "building ./cmd/caddy")
	}
	// Caddy runs in a directory of its own: a relative path would miss
	bin, err := filepath.Abs(bin)
	check(err, "finding the binary")

	fmt.Printf("%-8s %-9s %11s %11s %11s %11s %11s %11s %9s %9s\n",
		"n", "created", "create@1", "create@n", "full sync", "no-op sync", "1-rec sync", "start→200", "RSS MiB", "peak MiB")
	for _, n := range sizes {
		res := run(bin, n, min(*sample, n), *apiMax, *rounds)
		how := "api"
		if n > *apiMax {
			how = "files+api"
		}
		fmt.Printf("%-8d %-9s %11s %11s %11s %11s %11s %11s %9.0f %9.0f\n",
			n, how, ms(res.createFirst), ms(res.createLast), ms(res.fullSync), ms(res.noopSync),
			ms(res.oneSync), ms(res.start), res.rssMiB, res.peakMiB)
	}
}

type result struct {
	createFirst, createLast, fullSync, noopSync, oneSync, start time.Duration
	rssMiB, peakMiB                                             float64
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// record is the n-th endpoint: routes shaped like a real API (a
// collection, an item, a sub-collection, a subtree per service).
func record(i int) map[string]any {
	var route string
	switch i % 4 {
	case 0:
		route = fmt.Sprintf("/svc%d/items", i/4)
	case 1:
		route = fmt.Sprintf("/svc%d/items/{id}", i/4)
	case 2:
		route = fmt.Sprintf("/svc%d/items/{id}/notes", i/4)
	default:
		route = fmt.Sprintf("/svc%d/files/{path...}", i/4)
	}
	return map[string]any{
		"name":         fmt.Sprintf("e%06d", i),
		"route":        route,
		"auth_type":    "public",
		"exec_as_user": "bench",
		"code_snippet": fmt.Sprintf("result = {\"payload\": {\"n\": %d, \"path\": request.path}}", i),
	}
}

type caddy struct {
	dir, admin, site string
	cmd              *exec.Cmd
	log              *os.File
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err, "finding a free port")
	defer l.Close()
	return l.Addr().String()
}

func newCaddy(n int) *caddy {
	dir, err := os.MkdirTemp("", fmt.Sprintf("endpoint-scale-%d-", n))
	check(err, "making the data directory")
	c := &caddy{dir: dir, admin: freeAddr(), site: freeAddr()}
	cfg := fmt.Sprintf(`{
	admin %s
	storage file_system %s
	log default {
		level ERROR
	}
	endpoint {
		user bench
	}
}
http://%s {
	bind 127.0.0.1
	endpoint
}
`, c.admin, filepath.Join(dir, "data"), c.site)
	check(os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(cfg), 0o644), "writing the Caddyfile")
	return c
}

// launch starts the Caddy process.
func (c *caddy) launch(bin string) {
	var err error
	c.log, err = os.OpenFile(filepath.Join(c.dir, "caddy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	check(err, "opening the log")
	c.cmd = exec.Command(bin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	c.cmd.Dir = c.dir
	c.cmd.Env = append(os.Environ(), "HOME="+c.dir)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	check(c.cmd.Start(), "starting caddy")
}

// startCaddy runs Caddy and returns the time until path answers 200.
func (c *caddy) startCaddy(bin, path string) time.Duration {
	t0 := time.Now()
	c.launch(bin)
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := t0.Add(5 * time.Minute); time.Now().Before(deadline); {
		resp, err := client.Get("http://" + c.site + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(t0)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.stop()
	fail("caddy did not answer 200 on %s; log in %s", path, c.log.Name())
	return 0
}

func (c *caddy) waitAdmin() {
	for i := 0; i < 3000; i++ {
		if resp, err := http.Get("http://" + c.admin + "/endpoint/sync"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	fail("the admin API did not answer")
}

func (c *caddy) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	c.log.Close()
}

// memory returns the process's resident and peak resident set in MiB.
func (c *caddy) memory() (rss, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	check(err, "reading the process status")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// call sends one admin request and returns its duration; any status but
// want stops the benchmark.
func (c *caddy) call(method, path string, body any, want int) time.Duration {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		check(err, "encoding a body")
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.admin+path, rd)
	check(err, "making a request")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	check(err, method+" "+path)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != want {
		c.stop()
		fail("%s %s: want %d, got %d %s", method, path, want, resp.StatusCode, out)
	}
	return d
}

// writeDrafts stores records [0, n) as draft files, as the registry
// stores them, for sizes the API would take too long to fill.
func (c *caddy) writeDrafts(n int) {
	dir := filepath.Join(c.dir, "data", "endpoint", "drafts")
	check(os.MkdirAll(dir, 0o755), "making the drafts directory")
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := 0; i < n; i++ {
		rec := record(i)
		rec["version"] = 1
		rec["updated_at"] = now
		b, err := json.Marshal(rec)
		check(err, "encoding a draft")
		// names are lower case: the storage key is the name
		check(os.WriteFile(filepath.Join(dir, rec["name"].(string)+".json"), b, 0o600), "writing a draft")
	}
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func run(bin string, n, sample, apiMax, rounds int) result {
	var res result
	c := newCaddy(n)
	defer os.RemoveAll(c.dir)
	bulk := 0
	if n > apiMax {
		bulk = n - sample
		c.writeDrafts(bulk)
	}
	// nothing is served before the first sync: wait for the admin API
	c.launch(bin)
	c.waitAdmin()
	var first, last []time.Duration
	for i := bulk; i < n; i++ {
		d := c.call("POST", "/endpoint/endpoints", record(i), http.StatusCreated)
		if i-bulk < 20 && bulk == 0 {
			first = append(first, d)
		}
		if i >= n-sample {
			last = append(last, d)
		}
	}
	if len(first) > 0 {
		res.createFirst = mean(first)
	}
	res.createLast = mean(last)
	res.fullSync = c.call("POST", "/endpoint/sync", map[string]any{}, 200)

	var noop, one []time.Duration
	for i := 0; i < rounds; i++ {
		noop = append(noop, c.call("POST", "/endpoint/sync", map[string]any{}, 200))
	}
	for i := 0; i < rounds; i++ {
		name := fmt.Sprintf("e%06d", (i*7919)%n)
		patch := map[string]any{"code_snippet": fmt.Sprintf("result = {\"payload\": {\"round\": %d}}", i)}
		c.call("PATCH", "/endpoint/endpoints/"+name, patch, 200)
		one = append(one, c.call("POST", "/endpoint/sync", map[string]any{}, 200))
	}
	res.noopSync, res.oneSync = median(noop), median(one)

	c.stop()
	res.start = c.startCaddy(bin, "/svc0/items")
	res.rssMiB, res.peakMiB = c.memory()
	c.stop()
	return res
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
	os.Exit(1)
}
