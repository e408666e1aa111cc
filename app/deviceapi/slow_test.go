package deviceapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"thinx/app/deviceapi"
)

// A client that trickles its body is cut off by the handler's own body
// deadline (set with http.ResponseController), even though the server has
// no ReadTimeout: it gets 408 long before it would have finished.
func TestTricklingBodyIsCutOff(t *testing.T) {
	s := newServer(t, func(h *deviceapi.Handler) { h.BodyTimeout = 300 * time.Millisecond })
	o := s.owner(t, "slow")
	body := fmt.Sprintf(`{"registration":{"mac":"5CCF7FA1B2C3","owner":"%s"}}`, o.ID)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /device/register HTTP/1.1\r\nHost: x\r\nAuthentication: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", o.Key, len(body))

	// One byte every 100 ms would take several seconds for the whole body.
	got := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			got <- resp
		}
		close(got)
	}()
	for i := 0; i < len(body); i++ {
		select {
		case resp, ok := <-got:
			if !ok {
				t.Fatal("connection closed without a reply")
			}
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status %d, want 408", resp.StatusCode)
			}
			var b strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
			if !strings.Contains(b.String(), "request_timeout") {
				t.Fatalf("body %q", b.String())
			}
			if i >= len(body)-1 {
				t.Fatalf("cut off only after %d of %d bytes", i, len(body))
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := c.Write([]byte{body[i]}); err != nil {
			break // the server closed the connection; the reply is on its way
		}
	}
	if resp, ok := <-got; !ok || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("the trickling client was never cut off")
	}
}
