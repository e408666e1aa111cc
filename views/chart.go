package views

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Chart is a bar chart drawn on the server as SVG: no script, no library.
// Each bar carries a <title>, which browsers show as a tooltip and screen
// readers read.
type Chart struct {
	Title string // the accessible name, also shown above the chart
	Unit  string // appended to values in default tooltips, e.g. " dBm"
	Bars  []Bar
	// Floor is where bars start; values below it are drawn as empty. Zero
	// suits counts; -100 suits RSSI.
	Floor float64
	// LabelEvery shows every n-th bar's label under the axis (0: about six
	// labels in all).
	LabelEvery int
	Class      string // extra class on the <svg>, e.g. "error" to colour bars
}

// Bar is one bar of a Chart.
type Bar struct {
	Label string  // under the axis, when shown
	Value float64 // the height
	Tip   string  // the tooltip; Label and Value when empty
}

// Chart geometry in viewBox units; the SVG scales to its container.
const (
	chartW, chartH       = 600.0, 172.0
	chartLeft, chartBase = 56.0, 146.0
	chartTop             = 16.0
)

// BarChart renders c as an <svg>. An empty chart says so instead.
func BarChart(c Chart) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		c.write(&b)
		_, err := io.WriteString(w, b.String())
		return err
	})
}

func (c Chart) write(b *strings.Builder) {
	esc := html.EscapeString
	cls := strings.TrimSpace("chart " + c.Class)
	fmt.Fprintf(b, `<figure class="%s"><figcaption>%s</figcaption>`, esc(cls), esc(c.Title))
	if len(c.Bars) == 0 {
		b.WriteString(`<p class="muted">No data yet.</p></figure>`)
		return
	}
	top := c.Floor
	for _, bar := range c.Bars {
		top = math.Max(top, bar.Value)
	}
	top = niceCeil(c.Floor, top)
	span := top - c.Floor
	fmt.Fprintf(b, `<svg viewBox="0 0 %g %g" role="img" aria-label="%s">`, chartW, chartH, esc(c.Title))
	// Three gridlines with labels: floor, middle, top.
	for i := 0; i <= 2; i++ {
		v := c.Floor + span*float64(i)/2
		y := chartBase - (chartBase-chartTop)*float64(i)/2
		fmt.Fprintf(b, `<line class="grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, chartLeft, y, chartW, y)
		fmt.Fprintf(b, `<text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`, chartLeft-6, y+4, esc(num(v)))
	}
	n := float64(len(c.Bars))
	slot := (chartW - chartLeft) / n
	gap := math.Min(slot*0.2, 4)
	every := c.LabelEvery
	if every <= 0 {
		every = max(1, int(math.Ceil(n/6)))
	}
	for i, bar := range c.Bars {
		h := 0.0
		if bar.Value > c.Floor {
			h = (bar.Value - c.Floor) / span * (chartBase - chartTop)
		}
		x := chartLeft + float64(i)*slot + gap/2
		tip := bar.Tip
		if tip == "" {
			tip = bar.Label + ": " + num(bar.Value) + c.Unit
		}
		// A transparent full-height target makes even zero bars hoverable.
		fmt.Fprintf(b, `<g><title>%s</title><rect class="hit" x="%.1f" y="%g" width="%.1f" height="%g"/>`,
			esc(tip), x, chartTop, slot-gap, chartBase-chartTop)
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></g>`, x, chartBase-h, slot-gap, h)
		if i%every == 0 && bar.Label != "" {
			// A label near the right edge ends there instead of spilling out.
			lx, anchor := x+(slot-gap)/2, "middle"
			if lx > chartW-40 {
				lx, anchor = chartW, "end"
			}
			fmt.Fprintf(b, `<text class="axis" x="%.1f" y="%g" text-anchor="%s">%s</text>`, lx, chartBase+20, anchor, esc(bar.Label))
		}
	}
	fmt.Fprintf(b, `<line class="base" x1="%g" y1="%g" x2="%g" y2="%g"/></svg></figure>`, chartLeft, chartBase, chartW, chartBase)
}

// niceCeil rounds the top of the axis up to 1, 2 or 5 times a power of
// ten above the floor, so labels read as round numbers.
func niceCeil(floor, top float64) float64 {
	span := top - floor
	if span <= 0 {
		return floor + 2 // whole-number labels: 0, 1, 2
	}
	p := math.Pow(10, math.Floor(math.Log10(span)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= span {
			// Keep the middle label a whole number for small counts.
			if m*p < 2 && floor == 0 {
				return 2
			}
			return floor + m*p
		}
	}
	return floor + 10*p
}

// num prints a figure without trailing zeros: 3, 2.5, 1200.
func num(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
