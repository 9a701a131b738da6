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
	return newTypedFunc(fn).call
}

// typedFunc is a function of the shape Typed takes, with what its type
// tells about how to call it.
type typedFunc struct {
	fv        reflect.Value
	numIn     int
	hasCtx    bool           // takes a context.Context first
	first     int            // index of the *Socket parameter
	params    []reflect.Type // the event's arguments
	rest      bool           // the last of params is Args
	hasResult bool           // returns an R
	hasErr    bool           // returns an error
}

// newTypedFunc checks fn's shape, panicking if Typed cannot call it.
func newTypedFunc(fn any) *typedFunc {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func {
		panic(fmt.Sprintf("socketio.Typed: want a function, got %T", fn))
	}
	if ft.IsVariadic() {
		panic(fmt.Sprintf("socketio.Typed: %s is variadic: take the remaining arguments as a last Args parameter", ft))
	}
	t := &typedFunc{fv: fv, numIn: ft.NumIn()}
	t.hasCtx = ft.NumIn() > 0 && ft.In(0) == contextType
	if t.hasCtx {
		t.first = 1
	}
	if ft.NumIn() <= t.first || ft.In(t.first) != socketType {
		panic(fmt.Sprintf("socketio.Typed: %s must take [context.Context,] *socketio.Socket first", ft))
	}
	t.params, t.rest = typedParams(ft, t.first)
	t.hasResult, t.hasErr = typedResults(ft)
	return t
}

// typedParams returns the types of ft's parameters after the *Socket at
// index first, and whether the last of them is Args.
func typedParams(ft reflect.Type, first int) (params []reflect.Type, rest bool) {
	params = make([]reflect.Type, 0, ft.NumIn()-first-1)
	for i := first + 1; i < ft.NumIn(); i++ {
		params = append(params, ft.In(i))
	}
	rest = len(params) > 0 && params[len(params)-1] == argsType
	for i, t := range params {
		if t == argsType && i != len(params)-1 {
			panic(fmt.Sprintf("socketio.Typed: %s: only the last parameter may be Args", ft))
		}
	}
	return params, rest
}

// typedResults tells whether ft returns a result R, an error, or both.
func typedResults(ft reflect.Type) (hasResult, hasErr bool) {
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
	return hasResult, hasErr
}

// call is the EventHandler: it decodes e's arguments, calls the function
// and answers the acknowledgement with its results.
func (t *typedFunc) call(s *Socket, e *Event) {
	in, ok := t.args(s, e)
	if !ok {
		return
	}
	t.answer(s, e, t.fv.Call(in))
}

// args returns the function's arguments for e. When one does not decode it
// answers the client (if it asked) and returns false.
func (t *typedFunc) args(s *Socket, e *Event) ([]reflect.Value, bool) {
	in := make([]reflect.Value, t.numIn)
	if t.hasCtx {
		in[0] = reflect.ValueOf(s.Context())
	}
	in[t.first] = reflect.ValueOf(s)
	for i, pt := range t.params {
		if t.rest && i == len(t.params)-1 {
			in[t.first+1+i] = reflect.ValueOf(e.From(i))
			continue
		}
		p := reflect.New(pt)
		if i < e.Len() {
			if err := e.Decode(i, p.Interface()); err != nil {
				s.nsp.srv.log.Debug("socketio: bad event argument", "nsp", s.nsp.name, "event", e.Name, "arg", i, "err", err)
				if e.WantsAck() {
					_ = e.Ack(ackInvalidArgument)
				}
				return nil, false
			}
		}
		in[t.first+1+i] = p.Elem()
	}
	return in, true
}

// answer acknowledges e with the function's results out, if the client
// asked; otherwise it only logs an error.
func (t *typedFunc) answer(s *Socket, e *Event, out []reflect.Value) {
	var err error
	if t.hasErr {
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
	case t.hasResult:
		_ = e.Ack(out[0].Interface())
	case t.hasErr:
		_ = e.Ack()
	}
}

// Handle registers fn, a function of the shape Typed describes, as n's
// handler of event:
//
//	socketio.Handle(n, "move", func(ctx context.Context, s *socketio.Socket, x, y int) (Position, error) {...})
func Handle(n *Namespace, event string, fn any) { n.On(event, Typed(fn)) }
