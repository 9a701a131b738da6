package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/metrics"
)

// A registry of its own, served beside the Socket.IO server with a bearer
// token (Switchboard's /metrics).
func Example() {
	io := socketio.NewServer(nil)
	// With the Redis adapter, pass the AdapterStats given to it:
	//	stats := &socketio.AdapterStats{}
	//	redisadapter.New(redisadapter.Options{Client: rdb, Stats: stats})
	//	metrics.NewCollector(io, stats)
	reg := metrics.NewRegistry(metrics.NewCollector(io, nil))

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.Handle("/metrics", metrics.Handler(reg, "s3cret"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "switchboard_sockets{") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// switchboard_sockets{namespace="/",transport="polling"} 0
	// switchboard_sockets{namespace="/",transport="websocket"} 0
}

// An application that already serves Prometheus metrics adds the
// collector to its registry (here the default one, served by promhttp).
func Example_defaultRegistry() {
	io := socketio.NewServer(nil)
	reg := prometheus.NewRegistry() // the application's: prometheus.DefaultRegisterer in most
	reg.MustRegister(metrics.NewCollector(io, nil))

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), "switchboard_connects_total"))
	// Output: 200 true
}
