package server

import "github.com/switchboard/switchboard/socketio"

// parser maps socketio.parser to the server option; config validated the
// name.
func parser(name string) socketio.Parser {
	p, err := socketio.ParseParser(name)
	if err != nil {
		return socketio.ParserJSON
	}
	return p
}
