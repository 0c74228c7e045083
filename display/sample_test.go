package display

import "github.com/logitlens-go/logitlens/internal/lenssample"

// The tests' results, from package lenssample.
var SampleResult = lenssample.Result

const HostileToken = lenssample.HostileToken

var (
	hostileTokens = lenssample.HostileTokens
	plainWords    = lenssample.PlainWords
)
