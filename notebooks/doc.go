// Package notebooks holds the practicum's Jupyter notebooks, in Russian, for the
// GoNB kernel (no Go code besides this file: the notebooks are the content):
//
//   - 01_logit_lens_by_hand.ipynb — Part 1: GPT-2's modules and model card, greedy
//     generation with hidden states, one projection through lm_head by hand, all
//     of them with lensnb, the heatmaps, the course's conclusions checked on the
//     data; the seven tasks with their checkers (package exercises). It is also
//     the solutions notebook. An appendix holds the GoNB rules beyond the first three.
//   - NN_…_student.ipynb — each notebook with its tasks blank (// Ваш код здесь),
//     generated from the solutions: go test ./notebooks -run TestStudent -update.
//   - 02_tracing.ipynb — Part 2: the nnsight-style Trace, the prompt lens with the
//     final LayerNorm, and why the two lenses disagree (ln_f, positions versus
//     generated tokens, the Cyrillic «А»), with a cell that makes them agree;
//     tasks 8–9 (how many hooks, where step 0 stands in one pass).
//   - 03_beyond.ipynb — entropy, KL and rank per layer; resid_mid versus
//     resid_post; activation patching; direct logit attribution; a larger GPT-2
//     when a GPU backend is there; tasks 10–11 (states with resid_mid, rows of the
//     attribution).
//   - 04_tuned_lens.ipynb — the tuned lens (Belrose et al. 2023): identity
//     translators read as the logit lens; translators trained on the corpus for the
//     loaded model; per-state KL and perplexity of both lenses on held-out text, as
//     a table and a chart; both lenses side by side on a phrase; tasks 12–13 (how
//     many translators, and their parameters).
//
// `make notebook` installs Jupyter and GoNB (scripts/install-jupyter.sh) and opens
// Jupyter here. Each notebook's first code cell points GoNB at this checkout with a
// go.work (the parent folder, or $LOGITLENS_ROOT). The tests execute every notebook
// headless with nbconvert on the demo model (LOGITLENS_MODEL=demo), so that the
// conclusions they measure are measured on a trained model, and 01 and 03 also on
// GPT-2 small's shapes (LOGITLENS_MODEL=small, random weights), so that what they
// print about the loaded model's depth is checked on 6 and on 12 blocks.
package notebooks
