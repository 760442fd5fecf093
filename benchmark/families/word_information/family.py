"""guan2019 G1-G3, the word-information family: a sentiment corpus with known word relevance ->
transformer (pretrained / scratch), BiLSTM and CNN per seed -> perturbation entropy and gradient
baselines per word and layer (benchmark/families/__init__.py: the protocol).

Modules: steps (the three steps, at either scale), config (params), networks (the classifiers),
training (the embedded `networks` step), measure (the instrument: guan2019's perturbation entropy,
gradient baselines, per-network claim tables), probing (the embedded `measures` step), controls,
section (the report section), and the paper scale's adapter (paper_scale, paper_models, sst2:
SST-2, BERT and the treebank's word relevance handed to the same measure).
"""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Family, Section, Stage

STEPS = "benchmark.families.word_information.steps"  # each step at the params' scale (embedded or paper)

PIPELINE = Family(
    name="word_information",
    title="guan2019 G1-G3: word information in NLP models",
    stages=(
        Stage(
            "train_word_information", "benchmark.stages.train", "word_information networks", code=(STEPS,),
            comment="guan2019 G1-G3, the word-information family (benchmark/families/word_information/):\n"
                    "sentiment corpus -> transformer (pretrained / scratch), BiLSTM, CNN x seeds -> perturbation\n"
                    "entropy + gradient baselines per word and layer -> claims",
            deps=("data/sentiment",),
            params=("scale", "seed_offset", "word_information.embedded.dataset", "word_information.embedded.models",
                    "word_information.embedded.seeds", "word_information.embedded.train",
                    "word_information.paper.dataset", "word_information.paper.models", "word_information.paper.seeds",
                    "word_information.paper.bert_dirs", "word_information.paper.finetune",
                    "word_information.paper.train", "paper_max_epochs", "paper_data"),
            outs=("models/word_information.safetensors", "evidence/word_information/training.csv"),
        ),
        Stage(
            "probe_word_information", "benchmark.stages.probe", "word_information measures", code=(STEPS,),
            deps=("models/word_information.safetensors", "evidence/word_information/training.csv", "data/sentiment"),
            params=("scale", "seed_offset", "word_information.embedded.probe", "word_information.paper.probe",
                    "word_information.paper.relevance", "paper_data"),
            outs=("evidence/word_information/word_measures.csv", "evidence/word_information/layer_measures.csv",
                  "evidence/word_information/consistency.csv", "evidence/word_information/gap_trend.csv",
                  "evidence/word_information/final_gap.csv", "evidence/word_information/rank_agreement.csv",
                  "evidence/word_information/section_word_information.md",
                  "evidence/word_information/entropy_heatmaps.png"),
        ),
        Stage(
            "controls_word_information", "benchmark.stages.probe", "word_information controls", code=(STEPS,),
            comment="the perturbation measure, gradient saliency and rank agreement on built-in answers (networks that\n"
                    "read the relevant words only, planted input weights) and on nothing (a feature that ignores its\n"
                    "input, permuted relevance labels and word orders)",
            deps=("models/word_information.safetensors", "evidence/word_information/word_measures.csv", "data/sentiment"),
            params=("scale", "seed_offset", "word_information.embedded.probe", "word_information.embedded.controls",
                    "word_information.paper.probe", "word_information.paper.controls",
                    "word_information.paper.relevance", "paper_data"),
            outs=("evidence/controls/word_information.csv",),
        ),
    ),
    sections=(
        Section("Word information in NLP models (guan2019 G1-G4)",
                "evidence/word_information/section_word_information.md", 60,
                ("evidence/word_information/entropy_heatmaps.png",)),
    ),
)

FAMILY = declare(
    PIPELINE,
    networks=f"{STEPS}:networks",  # train_word_information: every (model, seed), both scales
    measures=f"{STEPS}:measures",  # probe_word_information: the measure and baselines, both scales
    controls=f"{STEPS}:controls",  # controls_word_information: the instruments' controls, both scales
)
