package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/pfverify/productfruits"
)

// MemoryConfig sets up a memory run.
type MemoryConfig struct {
	// Size is the length of the streamed page. Default: 1 GiB.
	Size int64
	// WriteSize is the size of the app's writes. Default: 32 KiB.
	WriteSize int
	// Every is the sampling interval. Default: 1ms.
	Every time.Duration
	// Variants to run. Default: Bare, Inject.
	Variants []string
}

// MemoryResult is one variant's heap while its page streamed. Objects is
// runtime/metrics' /memory/classes/heap/objects:bytes (live and not yet
// swept objects); InUse adds /memory/classes/heap/unused:bytes, which
// makes it runtime.MemStats.HeapInuse. Base is sampled after a GC before
// the request, Peak is the highest sample during the stream.
type MemoryResult struct {
	Variant                  string
	Bytes                    int64 // body bytes received and checked
	Elapsed                  time.Duration
	Samples                  int
	BaseObjects, PeakObjects uint64
	BaseInUse, PeakInUse     uint64
}

// MiBps is the stream's throughput.
func (r MemoryResult) MiBps() float64 {
	return float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds()
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// heapSampler records the peak of the heap metrics.
type heapSampler struct {
	samples                []metrics.Sample
	peakObjects, peakInUse uint64
	n                      int
}

func newHeapSampler() *heapSampler {
	s := &heapSampler{samples: make([]metrics.Sample, len(heapMetrics))}
	for i, name := range heapMetrics {
		s.samples[i].Name = name
	}
	return s
}

func (s *heapSampler) sample() (objects, inUse uint64) {
	metrics.Read(s.samples)
	objects = s.samples[0].Value.Uint64()
	inUse = objects + s.samples[1].Value.Uint64()
	s.peakObjects = max(s.peakObjects, objects)
	s.peakInUse = max(s.peakInUse, inUse)
	s.n++
	return objects, inUse
}

// Memory streams a Size page through each variant over loopback, one
// after the other, sampling the process's heap all along (client and
// server share it; the client reads through fixed buffers). Every byte
// received is checked against the page, and the injected page's user
// object is verified.
func Memory(ctx context.Context, cfg MemoryConfig) ([]MemoryResult, error) {
	if cfg.Size <= 0 {
		cfg.Size = 1 << 30
	}
	if cfg.WriteSize <= 0 {
		cfg.WriteSize = 32 << 10
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Millisecond
	}
	if len(cfg.Variants) == 0 {
		cfg.Variants = []string{Bare, Inject}
	}
	doc := NewDoc(cfg.Size, cfg.WriteSize)
	srv, err := NewServer(doc)
	if err != nil {
		return nil, err
	}
	tr := Transport(1)
	client := &http.Client{Transport: tr}
	var out []MemoryResult
	for _, v := range cfg.Variants {
		res, err := stream(ctx, client, srv, v, cfg.Every)
		if err != nil {
			err = fmt.Errorf("%s: %w", v, err)
			tr.CloseIdleConnections()
			return out, errors.Join(err, srv.Close())
		}
		out = append(out, res)
	}
	tr.CloseIdleConnections()
	if n := srv.Logged.Load(); n > 0 {
		return out, errors.Join(fmt.Errorf("middleware logged %d lines", n), srv.Close())
	}
	return out, srv.Close()
}

func stream(ctx context.Context, client *http.Client, srv *Server, variant string, every time.Duration) (MemoryResult, error) {
	name := Username(0)
	chk := &streamCheck{doc: srv.Doc, inject: variant == Inject, signer: srv.Signer, name: name,
		prefix: make([]byte, 0, 64<<10)}
	if variant != Bare && variant != Inject {
		return MemoryResult{}, fmt.Errorf("unknown variant %q", variant)
	}
	buf := make([]byte, 32<<10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/"+variant, nil)
	if err != nil {
		return MemoryResult{}, err
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set(UserHeader, name)

	runtime.GC()
	runtime.GC()
	hs := newHeapSampler()
	res := MemoryResult{Variant: variant}
	res.BaseObjects, res.BaseInUse = hs.sample()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				hs.sample()
			}
		}
	})
	start := time.Now()
	err = func() error {
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		if _, err := io.CopyBuffer(chk, resp.Body, buf); err != nil {
			return err
		}
		return chk.finish()
	}()
	res.Elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	hs.sample()
	res.PeakObjects, res.PeakInUse, res.Samples = hs.peakObjects, hs.peakInUse, hs.n
	res.Bytes = chk.n
	return res, err
}

// streamCheck compares a streamed body with the doc as it arrives. The
// first 64 KiB are held to find and verify the snippet; after that, every
// byte is compared in place, shifted by the snippet's length.
type streamCheck struct {
	doc    *Doc
	inject bool
	signer *productfruits.Signer
	name   string
	prefix []byte // nil once checked
	shift  int64
	n      int64
}

func (c *streamCheck) Write(p []byte) (int, error) {
	n := len(p)
	c.n += int64(n)
	if c.prefix != nil {
		k := min(len(p), cap(c.prefix)-len(c.prefix))
		c.prefix = append(c.prefix, p[:k]...)
		p = p[k:]
		if len(c.prefix) < cap(c.prefix) {
			return n, nil
		}
		if err := c.checkPrefix(); err != nil {
			return 0, err
		}
	}
	off := c.n - int64(len(p)) - c.shift
	if !c.doc.Equal(off, p) {
		return 0, fmt.Errorf("body differs from the page at offset %d", off)
	}
	return n, nil
}

func (c *streamCheck) checkPrefix() error {
	p := c.prefix
	c.prefix = nil
	if !c.inject {
		if !c.doc.Equal(0, p) {
			return errors.New("body differs from the page in its first bytes")
		}
		return nil
	}
	// The rest of the body must be the doc, which has no snippet, so the
	// first one is the only one.
	sn, ok, err := FirstSnippet(p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no snippet in the first %d bytes", len(p))
	}
	ws, _, u, err := InitCall(sn)
	if err != nil {
		return err
	}
	if ws != Workspace {
		return fmt.Errorf("init workspace %q", ws)
	}
	if err := VerifyUser(c.signer, u, c.name, time.Now()); err != nil {
		return err
	}
	if !c.doc.Equal(0, p[:sn.Start]) || !c.doc.Equal(int64(sn.Start), p[sn.End:]) {
		return errors.New("page around the snippet differs")
	}
	c.shift = int64(sn.End - sn.Start)
	return nil
}

func (c *streamCheck) finish() error {
	if c.prefix != nil {
		if err := c.checkPrefix(); err != nil {
			return err
		}
	}
	if want := c.doc.Size() + c.shift; c.n != want {
		return fmt.Errorf("received %d bytes, want %d", c.n, want)
	}
	return nil
}

var _ io.Writer = (*streamCheck)(nil)
