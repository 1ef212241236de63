// Command floor is the least a check-in can cost an authority written in
// Go: a net/http server that answers the two requests of a check-in (a
// challenge, then a statement of the same size) and does the crypto a
// check-in must (one Ed25519 verification and one signature), and
// nothing else: no nonce, JSON, policy, store or aggregates. It prints
// its CPU per check-in beside the crypto's, measured in the same run.
//
//	go run ./internal/authority/testdata/floor -mode server &
//	go run ./internal/authority/testdata/floor -mode client -c 32 -d 10s
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	mode := flag.String("mode", "server", "server or client")
	addr := flag.String("addr", "127.0.0.1:18555", "address")
	conc := flag.Int("c", 32, "client: concurrent check-ins")
	dur := flag.Duration("d", 10*time.Second, "client: how long")
	flag.Parse()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	statement := bytes.Repeat([]byte("s"), 3000)
	sig := ed25519.Sign(priv, statement)
	certificate := bytes.Repeat([]byte("c"), 700)
	answer := bytes.Repeat([]byte("a"), 1000)
	if *mode == "server" {
		var n atomic.Int64
		mux := http.NewServeMux()
		mux.HandleFunc("POST /challenge", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","expires_at":"2026-12-04T05:00:00Z"}`))
		})
		mux.HandleFunc("POST /checkin", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if len(b) < len(statement) || !ed25519.Verify(pub, b[:len(statement)], sig) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			_ = ed25519.Sign(priv, certificate)
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
			n.Add(1)
		})
		c0 := cpu()
		for range 5000 {
			ed25519.Verify(pub, statement, sig)
			ed25519.Sign(priv, certificate)
		}
		fmt.Fprintf(os.Stderr, "crypto (verify + sign): %.1f µs\n", float64((cpu()-c0).Nanoseconds())/5000/1000)
		go func() {
			for {
				c0, n0 := cpu(), n.Load()
				time.Sleep(5 * time.Second)
				if c1, n1 := cpu(), n.Load(); n1 > n0 {
					fmt.Fprintf(os.Stderr, "server CPU per check-in: %.1f µs (%d/s)\n", float64((c1-c0).Nanoseconds())/float64(n1-n0)/1000, (n1-n0)/5)
				}
			}
		}()
		l, err := net.Listen("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		http.Serve(l, mux)
		return
	}
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	var wg sync.WaitGroup
	var n atomic.Int64
	end := time.Now().Add(*dur)
	for range *conc {
		wg.Go(func() {
			for time.Now().Before(end) {
				r, err := cl.Post("http://"+*addr+"/challenge", "application/json", nil)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				_ = ed25519.Sign(priv, statement) // the device signs its statement
				r, err = cl.Post("http://"+*addr+"/checkin", "application/jose", bytes.NewReader(append(statement[:len(statement):len(statement)], sig...)))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d check-ins/s\n", n.Load()/int64(dur.Seconds()))
}
