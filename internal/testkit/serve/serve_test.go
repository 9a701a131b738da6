package serve

import (
	"context"
	"io"
	"net/http"
	"testing"
)

func TestStartStops(t *testing.T) {
	var url string
	var order []string
	t.Run("served", func(t *testing.T) {
		srv := Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hi")
		}), func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("shutdown without a deadline")
			}
			order = append(order, "shutdown")
			return nil
		})
		t.Cleanup(func() { order = append(order, "test cleanup") })
		url = srv.URL
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "hi" {
			t.Fatalf("got %q", b)
		}
	})
	// Cleanups run last-registered first: the server goes after what the
	// test registered later (its clients).
	if len(order) != 2 || order[0] != "test cleanup" || order[1] != "shutdown" {
		t.Fatalf("cleanup order %q, want the test's, then shutdown", order)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("the server still answers after the test")
	}
}
