package lensnb

// Comparison holds cell-by-cell divergences between two lenses, [state][column].
type Comparison struct {
	States []string
	// Columns are the compared positions (the shorter prompt's, for two prompts).
	Columns []Column
	// KL is KL(A ‖ B) in nats, JS the Jensen–Shannon divergence in nats (at most ln 2),
	// TV the total variation distance (between 0 and 1).
	KL, JS, TV [][]float64
}

// LensSide is one side of a comparison: a prompt and the lens options to decode it with.
type LensSide struct {
	IDs  []int
	Opts Options
}

// Compare decodes the same states of two lenses and compares their next-token
// distributions cell by cell: e.g. one prompt with and without ln_f
// (Options.NoFinalNorm), or two prompts (aligned by position) with the same options.
// Both sides must select the same states.
func Compare(m *Model, a, b LensSide) (*Comparison, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.Compare(a, b)
}
