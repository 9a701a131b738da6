package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// AckError, returned by a Typed handler, answers the client with
// {"message": Message, "data": Data} (data left out when nil), as
// ConnectError does for a refused connection. Any other error is answered
// {"message": err.Error()}.
type AckError struct {
	// Message is the answer's message, as an Error's in JavaScript.
	Message string
	// Data, encoded as JSON, is the answer's data (left out when nil).
	Data any
}

// Error returns Message.
func (e *AckError) Error() string { return e.Message }

// ackErrorPayload is the acknowledgement that carries err: an object with
// a message, like the Error a Node client receives from connect_error, so
// that a client tests `if (answer && answer.message)`.
func ackErrorPayload(err error) json.RawMessage {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	var ae *AckError
	if errors.As(err, &ae) {
		body.Data = ae.Data
	}
	b, mErr := json.Marshal(body)
	if mErr != nil { // Data could not be encoded: send the message alone
		b, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{err.Error()})
	}
	return b
}

// ackInvalidArgument answers an event a Typed handler could not decode.
var ackInvalidArgument = json.RawMessage(`{"message":"invalid argument"}`)

var (
	contextType = reflect.TypeFor[context.Context]()
	socketType  = reflect.TypeFor[*Socket]()
	errorType   = reflect.TypeFor[error]()
	argsType    = reflect.TypeFor[Args]()
)

// Typed turns fn, a function of this shape, into an EventHandler:
//
//	func([ctx context.Context,] s *Socket, arg1 T1, arg2 T2, ... [, rest Args]) [R | error | (R, error)]
//
// It is the typed form of a Node listener with several arguments and an
// acknowledgement callback, socket.on(event, (a, b, callback) => ...):
//
//   - Each argument is decoded into its parameter's type, as Args.Decode
//     does ([]byte for binary). Missing trailing arguments leave zero
//     values; extra ones are ignored, unless the last parameter has type
//     Args, which receives them all, undecoded (Args.From).
//   - ctx, if fn takes one, is the socket's Context: it is cancelled when
//     the socket disconnects. Pass it to what the handler starts.
//   - If the client asked for an acknowledgement, fn's results answer it:
//     R is sent as the acknowledgement's argument; a non-nil error is sent
//     instead, as {"message": err.Error()} (see AckError to add data), so
//     that the client's emitWithAck resolves to that object; a nil error
//     alone is acknowledged with no argument. A function without results
//     never acknowledges. If the client did not ask, the results are
//     dropped (an error is logged at debug level).
//   - An argument that does not decode is logged at debug level, fn is
//     not called, and a client that asked for an acknowledgement gets
//     {"message": "invalid argument"} (the details, which name Go types,
//     stay in the log).
//
// A panic in fn is contained as for any handler (the client, if it asked,
// gets {"message": "internal server error"}). Typed panics at once if fn
// does not have this shape. Each call costs a reflective call: for hot
// events with one argument, On and OnAck are cheaper.
func Typed(fn any) EventHandler {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func {
		panic(fmt.Sprintf("socketio.Typed: want a function, got %T", fn))
	}
	if ft.IsVariadic() {
		panic(fmt.Sprintf("socketio.Typed: %s is variadic: take the remaining arguments as a last Args parameter", ft))
	}
	first := 0 // index of *Socket
	hasCtx := ft.NumIn() > 0 && ft.In(0) == contextType
	if hasCtx {
		first = 1
	}
	if ft.NumIn() <= first || ft.In(first) != socketType {
		panic(fmt.Sprintf("socketio.Typed: %s must take [context.Context,] *socketio.Socket first", ft))
	}
	params := make([]reflect.Type, 0, ft.NumIn()-first-1)
	for i := first + 1; i < ft.NumIn(); i++ {
		params = append(params, ft.In(i))
	}
	rest := len(params) > 0 && params[len(params)-1] == argsType
	for i, t := range params {
		if t == argsType && i != len(params)-1 {
			panic(fmt.Sprintf("socketio.Typed: %s: only the last parameter may be Args", ft))
		}
	}
	var hasResult, hasErr bool
	switch ft.NumOut() {
	case 0:
	case 1:
		hasErr = ft.Out(0) == errorType
		hasResult = !hasErr
	case 2:
		if ft.Out(1) != errorType {
			panic(fmt.Sprintf("socketio.Typed: %s: a second result must be an error", ft))
		}
		hasResult, hasErr = true, true
	default:
		panic(fmt.Sprintf("socketio.Typed: %s: at most (R, error) results", ft))
	}

	return func(s *Socket, e *Event) {
		in := make([]reflect.Value, ft.NumIn())
		if hasCtx {
			in[0] = reflect.ValueOf(s.Context())
		}
		in[first] = reflect.ValueOf(s)
		for i, t := range params {
			if rest && i == len(params)-1 {
				in[first+1+i] = reflect.ValueOf(e.From(i))
				continue
			}
			p := reflect.New(t)
			if i < e.Len() {
				if err := e.Decode(i, p.Interface()); err != nil {
					s.nsp.srv.log.Debug("socketio: bad event argument", "nsp", s.nsp.name, "event", e.Name, "arg", i, "err", err)
					if e.WantsAck() {
						_ = e.Ack(ackInvalidArgument)
					}
					return
				}
			}
			in[first+1+i] = p.Elem()
		}
		out := fv.Call(in)
		var err error
		if hasErr {
			err, _ = out[len(out)-1].Interface().(error)
		}
		if !e.WantsAck() {
			if err != nil {
				s.nsp.srv.log.Debug("socketio: event handler failed", "nsp", s.nsp.name, "event", e.Name, "err", err)
			}
			return
		}
		switch {
		case err != nil:
			_ = e.Ack(ackErrorPayload(err))
		case hasResult:
			_ = e.Ack(out[0].Interface())
		case hasErr:
			_ = e.Ack()
		}
	}
}

// Handle registers fn, a function of the shape Typed describes, as n's
// handler of event:
//
//	socketio.Handle(n, "move", func(ctx context.Context, s *socketio.Socket, x, y int) (Position, error) {...})
func Handle(n *Namespace, event string, fn any) { n.On(event, Typed(fn)) }
