package web

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"thinx/app"
	"thinx/app/broker"
	"thinx/app/config"
	"thinx/app/events"
	"thinx/views"
)

func (s *Server) mqttRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /mqtt", s.requireOwner(s.mqtt))
	mux.HandleFunc("POST /mqtt/bridges", s.requireOwner(s.saveBridge))
	mux.HandleFunc("POST /mqtt/bridges/{bridge}/delete", s.requireOwner(s.deleteBridge))
	mux.HandleFunc("GET /devices/{udid}/mqtt", s.requireOwner(s.deviceMQTT))
	mux.HandleFunc("GET /devices/{udid}/mqtt/events", s.requireOwner(s.deviceMQTTEvents))
}

// endpoints tells people where the broker listens, with the host name
// they used to reach the console.
func (s *Server) endpoints(r *http.Request) []views.MQTTEndpoint {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	var out []views.MQTTEndpoint
	add := func(what, scheme, addr string) {
		if !config.Enabled(addr) {
			return
		}
		_, port, _ := net.SplitHostPort(addr)
		out = append(out, views.MQTTEndpoint{What: what, URL: scheme + "://" + net.JoinHostPort(host, port)})
	}
	add("MQTT", "mqtt", s.Config.MQTT)
	add("MQTT over TLS", "mqtts", s.Config.MQTTS)
	add("MQTT over WebSocket", "ws", s.Config.MQTTWS)
	return out
}

func (s *Server) mqtt(w http.ResponseWriter, r *http.Request) {
	p := views.MQTTPage{Page: s.page(r, "/mqtt", "MQTT"), Off: s.Broker == nil}
	if s.Broker != nil {
		o := owner(r)
		p.Endpoints = s.endpoints(r)
		for _, c := range s.Broker.Clients(o.ID) {
			vc := views.MQTTClient{ClientID: c.ClientID, Login: c.Login, Kind: c.Kind, UDID: c.UDID, IP: c.IP, Listener: c.Listener,
				Protocol: protocolName(c.Protocol), ConnectedAt: c.ConnectedAt, Subscriptions: c.Subscriptions}
			if c.UDID != "" && s.Devices != nil {
				vc.Alias = c.UDID
				if d, err := s.Devices.Get(r.Context(), o.ID, c.UDID); err == nil {
					vc.Alias = d.Alias
				}
			}
			p.Clients = append(p.Clients, vc)
		}
		bridges, err := s.Broker.Bridges(r.Context(), o.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		states := map[int64]broker.BridgeState{}
		for _, st := range s.Broker.BridgeStatus(o.ID) {
			states[st.ID] = st
		}
		for _, b := range bridges {
			st := states[b.ID]
			if st.State == "" {
				st.State = "stopped"
			}
			p.Bridges = append(p.Bridges, views.MQTTBridge{ID: b.ID, Name: b.Name, URL: b.URL, Username: b.Username,
				Forward: strings.Join(b.Forward, ", "), Subscribe: strings.Join(b.Subscribe, ", "), RemotePrefix: b.RemotePrefix,
				Enabled: b.Enabled, State: st.State, Error: st.Error, Since: st.Since, Sent: st.Sent, Received: st.Received, Dropped: st.Dropped})
		}
	}
	s.render(w, r, http.StatusOK, views.MQTTView(p))
}

func protocolName(v byte) string {
	switch v {
	case 5:
		return "5"
	case 4:
		return "3.1.1"
	case 3:
		return "3.1"
	}
	return strconv.Itoa(int(v))
}

func (s *Server) saveBridge(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	if s.Broker == nil {
		s.error(w, r, app.Errorf(app.ENOTIMPLEMENTED, "The MQTT broker is off on this server."))
		return
	}
	f := r.PostFormValue
	b := broker.Bridge{Name: f("name"), URL: f("url"), Username: f("username"), Password: f("password"),
		Forward: splitList(f("forward")), Subscribe: splitList(f("subscribe")), RemotePrefix: f("prefix"),
		Insecure: f("insecure") == "1", Enabled: true, QoS: 1}
	if _, err := s.Broker.SaveBridge(r.Context(), owner(r).ID, s.clientIP(r), b); err != nil {
		if code := app.ErrorCode(err); code == app.EINVALID || code == app.ECONFLICT {
			redirect(w, r, "/mqtt", "error", app.ErrorMessage(err))
			return
		}
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/mqtt", "ok", "Bridge added; it connects in the background.")
}

func (s *Server) deleteBridge(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("bridge"), 10, 64)
	if err != nil || s.Broker == nil {
		s.error(w, r, app.Errorf(app.ENOTFOUND, "Bridge not found."))
		return
	}
	if err := s.Broker.DeleteBridge(r.Context(), owner(r).ID, s.clientIP(r), id); err != nil {
		s.error(w, r, err)
		return
	}
	redirect(w, r, "/mqtt", "ok", "Bridge deleted.")
}

// deviceMQTT shows one of the owner's devices' recorded and live traffic.
func (s *Server) deviceMQTT(w http.ResponseWriter, r *http.Request) {
	if s.Devices == nil {
		s.error(w, r, app.Errorf(app.ENOTFOUND, "Device not found."))
		return
	}
	o := owner(r)
	d, err := s.Devices.Get(r.Context(), o.ID, r.PathValue("udid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := views.DeviceMQTTPage{Page: s.page(r, "/devices", "MQTT traffic"), UDID: d.UDID, Alias: d.Alias, Off: s.Broker == nil,
		Search: r.URL.Query().Get("q")}
	if s.Broker != nil {
		p.Kept = s.Broker.HistoryKept()
		var names map[string]bool
		var namesErr error
		secrets := func() (map[string]bool, error) {
			if names == nil && namesErr == nil {
				names, namesErr = s.Devices.SecretNames(r.Context(), o.ID, d.UDID)
			}
			return names, namesErr
		}
		msgs, err := s.Broker.History(r.Context(), o.ID, d.UDID, p.Search, 200)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, m := range msgs {
			vm := views.MQTTMessage{Topic: m.Topic, Size: m.Size, Client: m.Client, QoS: int(m.QoS), Retained: m.Retained, At: m.At}
			if utf8.Valid(m.Payload) {
				vm.Payload = app.HideSecretValues(string(m.Payload), secrets)
				if len(m.Payload) >= m.Size {
					vm.Size = len(vm.Payload) // masked, not cut
				}
			} else {
				vm.Binary = true
			}
			p.Messages = append(p.Messages, vm)
		}
	}
	s.render(w, r, http.StatusOK, views.DeviceMQTTView(p))
}

// deviceMQTTEvents streams the device's messages as they pass the broker.
func (s *Server) deviceMQTTEvents(w http.ResponseWriter, r *http.Request) {
	if s.Devices == nil || s.Broker == nil {
		s.error(w, r, app.Errorf(app.ENOTFOUND, "Device not found."))
		return
	}
	udid, o := r.PathValue("udid"), owner(r)
	if _, err := s.Devices.Get(r.Context(), o.ID, udid); err != nil {
		s.error(w, r, err)
		return
	}
	var buf bytes.Buffer
	s.stream(w, r, func(ev events.Event) (string, string, error) {
		m, ok := ev.Data.(broker.Message)
		if ev.Kind != broker.EventKind || ev.Subject != udid || !ok {
			return "", "", nil
		}
		buf.Reset()
		payload, size := m.Payload, m.Size
		if !m.Binary {
			payload = app.HideSecretValues(payload, func() (map[string]bool, error) { return s.Devices.SecretNames(r.Context(), o.ID, udid) })
			if len(m.Payload) >= m.Size {
				size = len(payload) // masked, not cut
			}
		}
		err := views.MQTTRow(views.MQTTMessage{Topic: m.Topic, Payload: payload, Binary: m.Binary, Size: size, Client: m.Client,
			QoS: int(m.QoS), Retained: m.Retained, At: m.At}).Render(r.Context(), &buf)
		return "mqtt", buf.String(), err
	})
}
