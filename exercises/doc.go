// Package exercises is the Go side of the practicum's notebooks (notebooks/*.ipynb,
// in Russian): the checkers of the seven tasks of Part 1 and of the projection
// written by hand, and the little plumbing the notebooks share, so that their
// cells stay short.
//
//   - Model / LoadModel: the one place that picks the notebooks' model, from the
//     environment variable LOGITLENS_MODEL ("gpt2" by default; a folder; "demo",
//     the small GPT-2 trained in this repository; or the random-weights fixtures
//     "tiny", "random" and "small", clearly labelled).
//   - Task1 … Task7: each takes the student's answer and the model or the
//     generation, computes the expected answer itself — from the config, the
//     model's modules or the generation, never by echoing the model card the
//     student reads — prints «✓ Верно…» or a hint (what to look at, never the
//     answer) and reports whether it was right.
//   - CheckProjection: the student's project (W·h) and argmax against
//     lensnb.DecodeLogits and a brute-force search.
//   - Card, Brief: the model card to read tasks 2–4 from (torchinfo's layout, in
//     Russian, without spelling out the answers) and a one-line model name.
//   - Remember, CourseGeneration, CourseLens: a disk cache for values that are
//     slow to recompute (a GoNB cell is a fresh program every time it runs), and
//     the course's generation and lens kept in it.
//   - Must and Check: errors end the cell's program with a message, so that
//     cells need no error plumbing.
//   - LMHead, Readbacks, ShiftAgreement, ConfidenceProfile, Compare, Top1Grid:
//     small helpers for the lens by hand, for measuring the course's claims and
//     conclusions on the loaded model and for making two lenses agree.
//     (Activation patching is lensnb.PatchSweep.)
//   - TuneCorpus, TunedDir, TrainedLens, TuneProgress, Quality,
//     HeldOutQuality, SideBySide: notebook 04 (the tuned lens) — the corpus split
//     as cmd/train split it, trained translators kept in the cache for later cells,
//     training (on the model server) reported step by step in Russian, the per-state comparison of the two lenses.
//
// Checkers print to Output (os.Stdout when nil), which is what a GoNB cell shows.
package exercises
