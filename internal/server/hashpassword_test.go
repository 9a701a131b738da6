package server

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestPrintPasswordHash(t *testing.T) {
	var out bytes.Buffer
	if err := PrintPasswordHash(strings.NewReader("s3cret\n"), &out); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")); err != nil {
		t.Fatalf("hash %q: %v", h, err)
	}
	if err := PrintPasswordHash(strings.NewReader("\n"), &out); err == nil {
		t.Fatal("empty password accepted")
	}
}
