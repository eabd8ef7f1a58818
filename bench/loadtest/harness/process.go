package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Serve runs the load test's server process: a Server for a pageSize
// page in writeSize writes, its URL printed as the first line of out,
// serving until in ends (the parent closed it, or died). It fails when
// the middleware logged anything: each line is a request it could not
// serve.
func Serve(in io.Reader, out io.Writer, pageSize int64, writeSize int) error {
	srv, err := NewServer(NewDoc(pageSize, writeSize))
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, srv.URL); err != nil {
		return errors.Join(err, srv.Close())
	}
	_, _ = io.Copy(io.Discard, in)
	err = srv.Close()
	if n := srv.Logged.Load(); n > 0 {
		err = errors.Join(err, fmt.Errorf("middleware logged %d lines", n))
	}
	return err
}

// Remote is a server process that Serve runs, started by StartRemote.
type Remote struct {
	URL     string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	drained chan struct{} // stdout read to its end
	admin   *http.Client
	close   sync.Once
	closed  error
}

// StartRemote starts cmd, a program that runs Serve (its stderr goes to
// this process's unless set), and waits for its URL.
func StartRemote(cmd *exec.Cmd) (*Remote, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The stats' connection never idles out: a new one would count among
	// the connections the clients opened.
	admin := Transport(1)
	admin.IdleConnTimeout = 0
	r := &Remote{cmd: cmd, stdin: stdin, drained: make(chan struct{}),
		admin: &http.Client{Transport: admin, Timeout: hangAfter}}
	line := make(chan string, 1)
	go func() {
		defer close(r.drained)
		br := bufio.NewReader(stdout)
		s, _ := br.ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, br)
	}()
	select {
	case r.URL = <-line:
	case <-time.After(hangAfter):
	}
	if !strings.HasPrefix(r.URL, "http://") {
		_ = cmd.Process.Kill()
		<-r.drained
		return nil, errors.Join(fmt.Errorf("server process printed %q, not its URL", r.URL), cmd.Wait())
	}
	return r, nil
}

// PID is the server process's id.
func (r *Remote) PID() int { return r.cmd.Process.Pid }

// Stats reads the server process's counters.
func (r *Remote) Stats(ctx context.Context) (ServerStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+StatsPath, nil)
	if err != nil {
		return ServerStats{}, err
	}
	resp, err := r.admin.Do(req)
	if err != nil {
		return ServerStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return ServerStats{}, fmt.Errorf("server stats: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var st ServerStats
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Close stops the server process: it ends its input and waits for the
// process to exit, killing it if that takes longer than a hang. The
// error is the process's failure, if it failed. Later calls return the
// first one's error.
func (r *Remote) Close() error {
	r.close.Do(func() { r.closed = r.stop() })
	return r.closed
}

func (r *Remote) stop() error {
	r.admin.CloseIdleConnections()
	_ = r.stdin.Close()
	exited := make(chan error, 1)
	go func() {
		<-r.drained
		exited <- r.cmd.Wait()
	}()
	select {
	case err := <-exited:
		return err
	case <-time.After(hangAfter):
		_ = r.cmd.Process.Kill()
		return errors.Join(errors.New("server process did not exit; killed"), <-exited)
	}
}
