"""Training: SFT then DPO from Axolotl recipes, a tiny demo base model, and the model registry.

Modules: ``settings`` (typed recipes: ``SftRecipe`` with its ``dpo`` stage, ``DpoRecipe``), ``recipes`` (render one
into a complete Axolotl YAML), ``inputs`` (the dataset step's versions, exported to jsonl), ``runner`` (Axolotl as a
subprocess), ``steps`` (``run_sft``, ``run_dpo``), ``base_model`` (``run_base_model``), ``registry`` (versions and
stage tags), ``tracking`` (metrics, W&B record, git commit), ``card`` (model card).

Axolotl 0.19.0 runs on CPU in its own venv (it pins transformers 5.16.1, trl 1.9.0, datasets 4.8.4, gradio 6.10):
``python3.11 -m venv V; V/bin/pip install torch==2.13.0; V/bin/pip install -c <torch==2.13.0> axolotl==0.19.0``
(all wheels, nothing built; ~90 s, 4.3 GB). Run with ``AXOLOTL_DO_NOT_TRACK=1`` and ``--launcher python``
(the default launcher execs ``accelerate`` from ``$PATH``, absent unless the venv is activated). The runner starts
it as ``python axolotl_main.py <command>``: ``datasets`` saves through a *spawn* pool that re-imports ``__main__``,
and with ``axolotl.cli.main`` as ``__main__`` each save cost 4-9 s (SFT run on the tiny model: 33 s -> 13 s).

CPU recipe keys (verified): ``bf16: false``, ``fp16: false`` (``bf16: auto`` on CPU turns fp16 on: 7x slower),
``tf32: false``, ``load_in_8bit/4bit: false`` (no qlora), ``attn_implementation: sdpa`` (``flash_attention`` and
``sdp_attention`` are deprecated), ``lora_{mlp,qkv,o,embedding}_kernel: false`` (auto-enabled for LoRA; their
Triton kernels allocate on ``cuda`` and crash on CPU), ``gradient_checkpointing: false``, ``sample_packing: false``,
``dataloader_num_workers: 0``, ``dataset_num_proc: 1``. Axolotl picks ``cpu`` itself.
SFT data: ``type: chat_template``, ``field_messages: messages``, ``roles_to_train: [assistant]``,
``train_on_eos: turn`` with top-level ``chat_template`` (``chatml`` for the demo tokenizer, else
``tokenizer_default``). DPO data: ``rl: dpo``, ``rl_beta``, ``type: chat_template.default`` over jsonl rows
``{"messages": [prompt turns], "chosen", "rejected"}`` (rendered with the same template as SFT, so any tokenizer
works; ``chatml.prompt_pairs`` hard-codes ChatML). ``base_model`` of DPO is the latest SFT version (merged by
``axolotl merge-lora cfg.yaml --lora-model-dir <out>``, which writes ``<out>/merged``).
Resume: ``auto_resume_from_checkpoints: true`` resumes from the highest ``output_dir/checkpoint-N``; checkpoints are
not written atomically, so any without ``trainer_state.json`` is dropped first. The final eval (epoch strategy) is
logged after the last checkpoint, so metrics come from the run's printed dicts (plus the resumed checkpoint's
history). Validation without training: ``axolotl_validate.py`` (``validate_config`` + unknown keys + dataset types).
Demo corpus (224 SFT / 208 DPO rows, 2 busy cores, OMP_NUM_THREADS=1): SFT 2 epochs 33 s of training (68 s step),
DPO 0.5 epoch 31 s (63 s step), each Axolotl command pays ~5-8 s of imports, merge-lora ~8 s.
"""
