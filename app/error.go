// Package app holds the domain of thinx: the types every other package speaks
// in, their validation rules, and the error codes that cross package borders.
// It imports the standard library only.
package app

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in app/web and one exit code in
// the CLI, so a caller never has to parse a message to know what went wrong.
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EFORBIDDEN      = "forbidden"
	ETOOMANY        = "too_many_requests"
	ETOOLARGE       = "too_large"
	ENOTIMPLEMENTED = "not_implemented"
)

// Error is an error whose Message is safe to show to the person who caused
// it. Internal causes are logged, never shown.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("thinx error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EINTERNAL for anything else, so unknown failures never leak as "invalid".
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human-readable message of an *Error, and a generic
// message for anything else so internals are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
