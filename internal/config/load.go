package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the number of problems reported by one Parse.
const maxErrors = 20

// Load reads the YAML file at path and parses it with Parse, using path as
// the file name in error messages. A read failure is returned wrapped (so
// errors.Is(err, fs.ErrNotExist) works); content problems are Errors.
func Load(path string, apps []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, apps)
}

// Parse decodes YAML data over Default() and validates the result.
// filename is only used in error messages. apps lists the registered
// application names that namespaces may refer to; if apps is nil, namespace
// apps are not checked. On failure the error is an Errors value.
func Parse(data []byte, filename string, apps []string) (*Config, error) {
	c := Default()
	lines, errs := decode(data, c)
	for _, e := range errs {
		e.File = filename
	}
	if len(errs) == 0 {
		errs = validate(c, apps, filename, lines)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// decode decodes data into c with the YAML library, which refuses unknown
// keys, duplicate keys and values of the wrong type, and returns the line
// of every key path for the validation messages. The library's messages
// name a line and Go types: each is reworded for the key it is about, found
// in the document's node tree, and the checks the library does not make
// are added.
func decode(data []byte, c *Config) (map[string]int, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil // no document: the defaults
	} else if err != nil {
		return nil, Errors{syntaxError(err)}
	}
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{Line: extra.Line, Msg: "multiple YAML documents; want exactly one"}}
	} else if err != io.EOF {
		return nil, Errors{syntaxError(err)}
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	te := &yaml.TypeError{}
	if err := strict.Decode(c); err != nil && !errors.As(err, &te) {
		return nil, Errors{syntaxError(err)} // such as an alias loop
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	x := newIndex(doc.Content[0])
	var found []*Error
	done := map[int]bool{} // the fields with an error: one each
	for _, msg := range te.Errors {
		i, e := x.translate(msg, done)
		done[i] = true
		found = append(found, e)
	}
	for i, f := range x.fields {
		if !done[i] {
			x.check(f, func(key, msg string) { found = append(found, &Error{Line: f.line, Key: key, Msg: msg}) })
		}
	}
	slices.SortStableFunc(found, func(a, b *Error) int { return a.Line - b.Line })
	var errs Errors
	for _, e := range found {
		errs.add(e)
	}
	return x.lines, errs
}

// add appends e, or a final "too many errors" once maxErrors is reached.
func (es *Errors) add(e *Error) {
	switch {
	case len(*es) < maxErrors:
		*es = append(*es, e)
	case len(*es) == maxErrors:
		*es = append(*es, &Error{File: e.File, Line: e.Line, Msg: "too many errors"})
	}
}

var yamlErrRE = regexp.MustCompile(`(?s)^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError converts an error from the YAML parser into an *Error.
func syntaxError(err error) *Error {
	m := yamlErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Msg: "invalid YAML: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	return &Error{Line: line, Msg: "invalid YAML: " + m[2]}
}
