package broker

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// testClient is a real MQTT client (paho) with its messages on a channel.
type testClient struct {
	paho.Client
	msgs chan paho.Message
	lost chan error
}

// dial connects a paho client; opts may adjust its options.
func dial(url, user, pass, clientID string, opts ...func(*paho.ClientOptions)) (*testClient, error) {
	tc := &testClient{msgs: make(chan paho.Message, 1000), lost: make(chan error, 1)}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetKeepAlive(30 * time.Second).SetOrderMatters(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { tc.msgs <- m }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case tc.lost <- err:
			default:
			}
		})
	for _, fn := range opts {
		fn(o)
	}
	tc.Client = paho.NewClient(o)
	t := tc.Connect()
	if !t.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if err := t.Error(); err != nil {
		return nil, err
	}
	return tc, nil
}

// mustDial connects or fails the test; the client disconnects at cleanup.
func mustDial(t *testing.T, url, user, pass, clientID string, opts ...func(*paho.ClientOptions)) *testClient {
	t.Helper()
	tc, err := dial(url, user, pass, clientID, opts...)
	if err != nil {
		t.Fatalf("connect %s as %s: %v", url, user, err)
	}
	t.Cleanup(func() { tc.Disconnect(50) })
	return tc
}

// sub subscribes and returns the granted QoS (0x80 is a refusal).
func (tc *testClient) sub(t *testing.T, filter string, qos byte) byte {
	t.Helper()
	tok := tc.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("subscribe %s timed out", filter)
	}
	if err := tok.Error(); err != nil {
		return 0x80
	}
	for _, q := range tok.(*paho.SubscribeToken).Result() {
		return q // one filter; paho keys "$share/…" results without the prefix
	}
	return 0x80
}

// pub publishes and waits for the broker's acknowledgement (QoS 1) or the
// write (QoS 0).
func (tc *testClient) pub(t *testing.T, topic string, qos byte, retained bool, payload string) error {
	t.Helper()
	tok := tc.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(5 * time.Second) {
		return errors.New("publish timed out")
	}
	return tok.Error()
}

// expect waits for a message on topic with payload.
func (tc *testClient) expect(t *testing.T, topic, payload string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-tc.msgs:
			if m.Topic() == topic && string(m.Payload()) == payload {
				return
			}
		case <-deadline:
			t.Fatalf("no message %q on %s", payload, topic)
		}
	}
}

// quiet fails the test if any message arrives within d.
func (tc *testClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-tc.msgs:
		t.Fatalf("unexpected message on %s: %q (retained %v, duplicate %v, id %d)", m.Topic(), m.Payload(), m.Retained(), m.Duplicate(), m.MessageID())
	case <-time.After(d):
	}
}

// waitLost waits for the broker to end the connection.
func (tc *testClient) waitLost(t *testing.T) {
	t.Helper()
	select {
	case <-tc.lost:
	case <-time.After(5 * time.Second):
		if tc.IsConnectionOpen() {
			t.Fatal("the broker did not end the connection")
		}
	}
}

// mosquitto runs one of the mosquitto command-line clients with a time
// limit and returns its combined output and exit code.
func mosquitto(t *testing.T, tool string, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return strings.TrimSpace(string(out)), code
}

// hostPort splits a listener address for the mosquitto tools' -h and -p.
func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}
