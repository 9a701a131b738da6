package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// PrintPasswordHash reads one line (the password) from r and writes its
// bcrypt hash to w: the value of admin_ui.auth.password_hash.
func PrintPasswordHash(r io.Reader, w io.Writer) error {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("empty password (give it on standard input, e.g. `echo -n secret | switchboard -hash-password`)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(h))
	return err
}
