package transform

import "errors"

// Kind classifies why a transform failed, so callers can decide what to show
// or store without parsing messages.
type Kind string

// Failure kinds.
const (
	KindInvalid     Kind = "invalid"     // the script does not pass Check or does not compile
	KindScript      Kind = "script"      // Transform returned an error
	KindPanic       Kind = "panic"       // Transform panicked
	KindTimeout     Kind = "timeout"     // Transform ran past its deadline and was stopped
	KindCrash       Kind = "crash"       // the worker died: out of memory, stack overflow, CPU limit
	KindQuarantined Kind = "quarantined" // not run: too many consecutive failures
	KindUnavailable Kind = "unavailable" // the engine is closed or cannot start workers
)

// Error is the error type returned by Engine.Run and Engine.RunChain. Its
// message is meant for people, e.g. "transformer timed out after 100ms" or
// "line 7: import "os" is not allowed".
type Error struct {
	Kind   Kind
	Script string // "id vN" of the script that failed, empty if none
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// ErrClosed matches (errors.Is) the error returned after Engine.Close.
var ErrClosed = errors.New("transformer engine closed")

// Is makes errors.Is(err, ErrClosed) work for the *Error returned by a
// closed engine.
func (e *Error) Is(target error) bool { return target == ErrClosed && e.Msg == ErrClosed.Error() }

// KindOf returns the Kind of err, or "" if err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
