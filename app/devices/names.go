package devices

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
)

// Words of generated device names: "amber-falcon". Short, friendly and
// unambiguous when read aloud.
var (
	nameAdjectives = []string{
		"amber", "brave", "bright", "calm", "clever", "cosy", "crisp", "dapper", "eager", "fuzzy",
		"gentle", "golden", "happy", "humble", "jolly", "keen", "lively", "lucky", "mellow", "merry",
		"nimble", "noble", "plucky", "polite", "proud", "quick", "quiet", "rapid", "rosy", "rustic",
		"shiny", "silent", "silver", "sleepy", "snowy", "sunny", "swift", "tidy", "witty", "zesty",
	}
	nameNouns = []string{
		"badger", "beacon", "bison", "comet", "cricket", "dolphin", "falcon", "ferret", "finch", "fox",
		"gecko", "heron", "koala", "lantern", "lemur", "lynx", "magpie", "marmot", "meteor", "moose",
		"newt", "otter", "owl", "panda", "pebble", "pelican", "puffin", "quokka", "raven", "robin",
		"salmon", "sparrow", "spruce", "squirrel", "starling", "thistle", "tortoise", "walrus", "wombat", "wren",
	}
)

func pickWord(words []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	if err != nil {
		return words[0]
	}
	return words[n.Int64()]
}

// friendlyName makes a name for a device that did not bring one.
func friendlyName() string { return pickWord(nameAdjectives) + "-" + pickWord(nameNouns) }

// newUDID returns a random (version 4) UUID in its 36-character form.
func newUDID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
