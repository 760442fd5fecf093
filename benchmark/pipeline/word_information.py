"""guan2019 G1-G3, the word-information family: a sentiment corpus with known word relevance ->
transformer (pretrained / scratch), BiLSTM and CNN per seed -> perturbation entropy and gradient
baselines per word and layer."""

from benchmark.pipeline.spec import Family, Section, Stage

FAMILY = Family(
    name="word_information",
    title="guan2019 G1-G3: word information in NLP models",
    stages=(
        Stage(
            "train_word_information", "benchmark.stages.word_information_train",
            comment="guan2019 G1-G3, the word-information family (one stem, `ls benchmark/*/word_information*`):\n"
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
            "probe_word_information", "benchmark.stages.word_information_probe",
            deps=("models/word_information.safetensors", "evidence/word_information/training.csv", "data/sentiment"),
            params=("scale", "seed_offset", "word_information.embedded.probe", "word_information.paper.probe",
                    "word_information.paper.relevance", "paper_data"),
            outs=("evidence/word_information/word_measures.csv", "evidence/word_information/layer_measures.csv",
                  "evidence/word_information/consistency.csv", "evidence/word_information/gap_trend.csv",
                  "evidence/word_information/final_gap.csv", "evidence/word_information/section_word_information.md",
                  "evidence/word_information/entropy_heatmaps.png"),
        ),
    ),
    sections=(
        Section("Word information in NLP models (guan2019 G1-G3)",
                "evidence/word_information/section_word_information.md", 60,
                ("evidence/word_information/entropy_heatmaps.png",)),
    ),
)
