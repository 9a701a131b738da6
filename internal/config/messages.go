package config

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The words of the loader's messages: what a key wants, what the file has
// instead, what is missing.

// keyNames lists the keys of struct t, in field order.
func keyNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
	}
	return names
}

func unknownKey(f field) string {
	return "unknown key " + quote(f.key.Value) + " (allowed: " + strings.Join(keyNames(f.in), ", ") + ")"
}

// mismatch says what is wrong with a value the library refused.
func mismatch(f field) string {
	v := f.val
	number := v.ShortTag() == "!!int" || v.ShortTag() == "!!float"
	switch {
	case f.path == "":
		return "top level: want a mapping of keys, got " + describe(v)
	case f.t == durationType && number:
		return "invalid duration " + clip(v.Value) + ": missing unit (want e.g. 25s)"
	case f.t == durationType && v.ShortTag() == "!!str":
		return "invalid duration " + quote(v.Value) + " (want e.g. 25s)"
	case isInt(f.t) && number && strings.Trim(v.Value, "+-0123456789_") == "":
		return "integer " + clip(v.Value) + " out of range"
	}
	return "want " + want(f) + ", got " + describe(v)
}

// want describes the value f wants, for messages.
func want(f field) string {
	switch t := f.t; {
	case wants[f.path] != "":
		return wants[f.path]
	case t == durationType:
		return "a duration such as 25s"
	case t.Kind() == reflect.Slice:
		return listWants[t.Elem()]
	case f.item() && t.Kind() == reflect.Struct:
		return "a mapping with keys " + strings.Join(keyNames(t), ", ")
	default:
		return kindWants[t.Kind()]
	}
}

var kindWants = map[reflect.Kind]string{
	reflect.Struct: "a mapping", reflect.Pointer: "a mapping", reflect.String: "a string",
	reflect.Bool: "a boolean (true or false)", reflect.Int: "an integer", reflect.Int64: "an integer", reflect.Float64: "a number",
}

// describe names the kind and value of n for "got ..." messages.
func describe(n *yaml.Node) string {
	switch tag := n.ShortTag(); {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case tag == "!!str":
		return "string " + quote(n.Value)
	case tag == "!!null":
		return "null"
	case kinds[tag] != "":
		return kinds[tag] + " " + clip(n.Value)
	}
	return "value " + quote(n.Value) + " tagged " + clip(n.Tag)
}

var kinds = map[string]string{"!!int": "integer", "!!float": "number", "!!bool": "boolean"}

// wants describe what keys want where the type alone says too little.
var wants = map[string]string{"static_dir": `a string; use "" for none`}

var listWants = map[reflect.Type]string{
	reflect.TypeFor[string]():         "a list of strings",
	reflect.TypeFor[Namespace]():      "a list of {name, app} mappings",
	reflect.TypeFor[Token]():          "a list of {sub, token} mappings",
	reflect.TypeFor[RelayRule]():      "a list of {event, to} mappings",
	reflect.TypeFor[ServerSideRule](): "a list of {event, reply} or {event, to: backend} mappings",
}

// missingKeys returns the problems with the keys (has) of a mapping of
// type t.
func missingKeys(t reflect.Type, has map[string]bool) []string {
	var msgs []string
	switch t {
	case reflect.TypeFor[Namespace]():
		switch {
		case has["name"] && has["pattern"]:
			msgs = append(msgs, `keys "name" and "pattern" exclude each other (a namespace, or a pattern of namespaces)`)
		case !has["name"] && !has["pattern"]:
			msgs = append(msgs, `missing key "name" (or "pattern")`)
		}
		if !has["app"] && !has["auth"] && !has["relay"] && !has["rooms"] && !has["backend"] && !has["server_side"] {
			msgs = append(msgs, `missing key "app"`)
		}
	case reflect.TypeFor[RelayRule]():
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] {
			msgs = append(msgs, `missing key "to" (want `+orList(relayTargets)+`)`)
		}
	case reflect.TypeFor[ServerSideRule]():
		if !has["event"] {
			msgs = append(msgs, `missing key "event"`)
		}
		if !has["to"] && !has["reply"] {
			msgs = append(msgs, `missing key "reply" (the answer) or "to" (backend)`)
		}
	}
	return msgs
}
