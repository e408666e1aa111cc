package views

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func render(t *testing.T, c Chart) string {
	t.Helper()
	var b strings.Builder
	if err := BarChart(c).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var axisLabel = regexp.MustCompile(`<text class="axis" x="[0-9.]+" y="[0-9.]+" text-anchor="end">([^<]*)</text>`)

func TestBarChart(t *testing.T) {
	for _, c := range []struct {
		name   string
		chart  Chart
		labels []string // the y-axis, bottom to top
		want   []string
	}{
		{"counts", Chart{Title: "Check-ins", Bars: []Bar{{Label: "Mon", Value: 3}, {Label: "Tue", Value: 7}}}, []string{"0", "5", "10"},
			[]string{`<figcaption>Check-ins</figcaption>`, `aria-label="Check-ins"`, "<title>Mon: 3</title>", "<title>Tue: 7</title>", ">Mon</text>"}},
		{"all zero", Chart{Title: "Errors", Bars: []Bar{{Value: 0}, {Value: 0}}}, []string{"0", "1", "2"}, []string{`height="0.0"`}},
		{"one", Chart{Title: "x", Bars: []Bar{{Value: 1}}}, []string{"0", "1", "2"}, nil},
		{"thousands", Chart{Title: "x", Bars: []Bar{{Value: 1234}}}, []string{"0", "1000", "2000"}, nil},
		{"rssi", Chart{Title: "Signal", Unit: " dBm", Floor: -100, Bars: []Bar{{Label: "12:00", Value: -67}, {Label: "12:05", Value: -120}}},
			[]string{"-100", "-75", "-50"}, []string{"<title>12:00: -67 dBm</title>", "<title>12:05: -120 dBm</title>"}},
		{"escaped", Chart{Title: `<script>"x"`, Bars: []Bar{{Label: "<b>", Value: 1, Tip: `</title><script>`}}}, []string{"0", "1", "2"},
			[]string{"&lt;script&gt;&#34;x&#34;", "<title>&lt;/title&gt;&lt;script&gt;</title>", ">&lt;b&gt;</text>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := render(t, c.chart)
			var got []string
			for _, m := range axisLabel.FindAllStringSubmatch(out, -1) {
				if len(got) < 3 {
					got = append(got, m[1])
				}
			}
			if strings.Join(got, ",") != strings.Join(c.labels, ",") {
				t.Errorf("axis %v, want %v", got, c.labels)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q in\n%s", w, out)
				}
			}
			if n := strings.Count(out, `<rect class="bar"`); n != len(c.chart.Bars) {
				t.Errorf("%d bars", n)
			}
			if strings.Contains(out, "<script") || strings.Contains(out, "style=") {
				t.Error("unescaped markup or inline style")
			}
		})
	}
	if out := render(t, Chart{Title: "Empty"}); !strings.Contains(out, "No data yet.") || strings.Contains(out, "<svg") {
		t.Errorf("empty chart: %s", out)
	}
	// The last label of a long series ends at the right edge.
	var bars []Bar
	for i := range 30 {
		bars = append(bars, Bar{Label: "Nov 26", Value: float64(i)})
	}
	if out := render(t, Chart{Title: "x", Bars: bars, LabelEvery: 29}); !strings.Contains(out, `x="600.0" y="166" text-anchor="end">Nov 26</text>`) {
		t.Errorf("last label not anchored at the edge")
	}
}
