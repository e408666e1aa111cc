package devices

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"thinx/app"
)

// Registration reply statuses the libraries act on.
const (
	StatusOK     = "OK"
	StatusUpdate = "FIRMWARE_UPDATE"
)

// MaxReply is what the device libraries read of a reply body; ours stay
// well below it.
const MaxReply = 500

// registrationReply writes the one-line reply of PROTOCOL.md by hand, so
// the field order is fixed, "registration" holds no nested object and
// "timestamp" comes last: the libraries cut the body at the first "}}".
func registrationReply(d *app.Device, owner string, offer *UpdateOffer, unix int64) []byte {
	b := make([]byte, 0, 320)
	b = append(b, `{"registration":{"success":true,"status":`...)
	if offer != nil {
		b = appendString(b, StatusUpdate)
	} else {
		b = appendString(b, StatusOK)
		b = append(b, `,"owner":`...)
		b = appendString(b, owner)
	}
	b = append(b, `,"alias":`...)
	b = appendString(b, d.Alias)
	b = append(b, `,"udid":`...)
	b = appendString(b, d.UDID)
	b = append(b, `,"auto_update":`...)
	b = strconv.AppendBool(b, d.AutoUpdate)
	if offer != nil {
		b = append(b, `,"ott":`...)
		b = appendString(b, offer.OTT)
		b = append(b, `,"version":`...)
		b = appendString(b, offer.Version)
	}
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, unix, 10)
	return append(b, "}}"...)
}

// appendString appends s as a JSON string. Braces are escaped too: a "}}"
// inside a value would end the reply early for the device's parser.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == '{' || c == '}' || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}

// Protocol error words, the "response" of a failed request.
const (
	RespAuth     = "authentication_error"
	RespInvalid  = "request_invalid"
	RespNoBody   = "no_body"
	RespTooLarge = "request_too_large"
	RespTooMany  = "too_many_requests"
	RespInternal = "internal_error"
	RespTimeout  = "request_timeout"
)

// ErrorReply is {"success":false,"response":word}, with a message for
// people when there is one worth reading.
func ErrorReply(word, message string) []byte {
	b := append([]byte(nil), `{"success":false,"response":`...)
	b = appendString(b, word)
	if message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, message)
	}
	return append(b, '}')
}

// errorReply maps an error of the service to the protocol's answer.
func errorReply(err error) ([]byte, int) {
	switch app.ErrorCode(err) {
	case app.EUNAUTHORIZED, app.EFORBIDDEN:
		return ErrorReply(RespAuth, ""), http.StatusUnauthorized
	case app.EINVALID:
		if err == errNoBody {
			return ErrorReply(RespNoBody, ""), http.StatusBadRequest
		}
		return ErrorReply(RespInvalid, app.ErrorMessage(err)), http.StatusBadRequest
	case app.ETOOLARGE:
		return ErrorReply(RespTooLarge, ""), http.StatusRequestEntityTooLarge
	case app.ETOOMANY:
		return ErrorReply(RespTooMany, ""), http.StatusTooManyRequests
	}
	if err == errShuttingDown {
		return ErrorReply(RespInternal, "shutting down"), http.StatusServiceUnavailable
	}
	return ErrorReply(RespInternal, ""), http.StatusInternalServerError
}
