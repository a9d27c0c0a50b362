package render

import (
	"strings"
)

// The geometry of the path picture: one column per subject, side by side, the hops from
// top to bottom with an arrow between each, the way back after the destination. Text is
// cut to fit a box (the whole of it is the box's tooltip, and in the findings).

const (
	svgLaneW      = 470
	svgLaneGap    = 28
	svgMargin     = 8
	svgHeadH      = 52
	svgBoxH       = 66
	svgBoxGap     = 20
	svgLineH      = 16 // one more line of a box
	svgTextCut    = 62 // runes on the monospace line of a box
	svgNoteCut    = 70 // runes on its proportional lines
	svgOutcomeCut = 62 // runes of the bold outcome over a lane
	svgTitleCut   = 60
	svgNameCut    = 46 // a hop's name, beside its state word
)

type svgPicture struct {
	Width, Height int
	Lanes         []svgLane
}

type svgLane struct {
	X, Y          int
	Subject       string
	Outcome       string
	Failing       bool
	Probed        bool
	Boxes         []svgBox
	Arrows        []svgArrow
	SubjectFull   string
	OutcomeFull   string
	TitleY, SubYY int
}

type svgBox struct {
	X, Y, W, H int
	State      string // ok, fails, lost, notseen
	Mark       string // the symbol in the circle
	StateWord  string
	Name       string
	Detail     string
	More       []svgLine
	Note       string
	Full       string // the tooltip: everything the box says, uncut
	Return     bool
	// Text positions.
	CX, CY, TX, Line1, Line2, Line3, RightX int
}

type svgLine struct {
	Y    int
	Text string
}

type svgArrow struct {
	X, Y1, Y2 int
	Dashed    bool
	Label     string
}

var stateMarks = map[hopState]string{stateOK: "✓", stateFails: "✗", stateLost: "?", stateNotSeen: "–"}

// layoutSVG places the lanes' hops.
func layoutSVG(lanes []lane) svgPicture {
	var pic svgPicture
	maxY := 0
	for n, l := range lanes {
		x := svgMargin + n*(svgLaneW+svgLaneGap)
		sl := svgLane{X: x, Y: svgMargin, Subject: cut(sanitize(l.Subject), svgTitleCut), SubjectFull: sanitize(l.Subject),
			Outcome: cut(sanitize(l.Outcome), svgOutcomeCut), OutcomeFull: sanitize(l.Outcome), Failing: l.Failing, Probed: l.Probed,
			TitleY: svgMargin + 18, SubYY: svgMargin + 38}
		y := svgMargin + svgHeadH
		broken := false
		for k, h := range l.Hops {
			boxH := svgBoxH + len(h.More)*svgLineH
			b := svgBox{X: x, Y: y, W: svgLaneW, H: boxH, State: string(h.State), Mark: stateMarks[h.State],
				StateWord: stateWords[h.State], Name: cut(sanitize(h.Name), svgNameCut), Return: h.Return,
				Detail: cut(sanitize(h.Detail), svgTextCut)}
			note := h.Note
			if len(h.Findings) > 0 {
				if note != "" {
					note += "; "
				}
				// The cause in its own words, its ID to find it in the diagnosis.
				note += strings.Join(h.Findings, ", ") + ": " + h.Cause
			}
			b.Note = cut(sanitize(note), svgNoteCut)
			b.CX, b.CY = x+20, y+boxH/2
			b.TX, b.RightX = x+40, x+svgLaneW-10
			b.Line1, b.Line2 = y+20, y+39
			for n, m := range h.More {
				b.More = append(b.More, svgLine{Y: b.Line2 + (n+1)*svgLineH, Text: cut(sanitize(m), svgTextCut)})
			}
			b.Line3 = b.Line2 + (len(h.More)+1)*svgLineH + 2
			full := h.Detail
			for _, m := range h.More {
				full += "; " + m
			}
			b.Full = sanitize(strings.TrimSpace(h.Name + ": " + stateWords[h.State] + ". " + full + ". " + note))
			sl.Boxes = append(sl.Boxes, b)
			if k+1 < len(l.Hops) {
				a := svgArrow{X: x + svgLaneW/2, Y1: y + boxH, Y2: y + boxH + svgBoxGap - 2}
				broken = broken || h.State == stateFails
				a.Dashed = broken || l.Hops[k+1].State == stateNotSeen
				if !h.Return && l.Hops[k+1].Return {
					a.Label = "replies back"
				}
				sl.Arrows = append(sl.Arrows, a)
			}
			y += boxH + svgBoxGap
		}
		maxY = max(maxY, y)
		pic.Lanes = append(pic.Lanes, sl)
	}
	pic.Width = 2*svgMargin + len(lanes)*svgLaneW + max(len(lanes)-1, 0)*svgLaneGap
	pic.Height = maxY
	return pic
}

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
