"""Training: SFT then DPO from Axolotl recipes, a tiny demo base model, and the model registry.

Axolotl 0.19.0 runs on CPU in its own venv (it pins transformers 5.16.1, trl 1.9.0, datasets 4.8.4, gradio 6.10):
``python3.11 -m venv V; V/bin/pip install torch==2.13.0; V/bin/pip install -c <torch==2.13.0> axolotl==0.19.0``
(all wheels, nothing built; ~90 s, 4.3 GB). Run with ``AXOLOTL_DO_NOT_TRACK=1`` and ``--launcher python``
(the default launcher execs ``accelerate`` from ``$PATH``, absent unless the venv is activated).

CPU recipe keys (verified): ``bf16: false``, ``fp16: false`` (``bf16: auto`` on CPU turns fp16 on: 7x slower),
``tf32: false``, ``load_in_8bit/4bit: false`` (no qlora), ``attn_implementation: sdpa`` (``flash_attention`` and
``sdp_attention`` are deprecated), ``lora_{mlp,qkv,o,embedding}_kernel: false`` (auto-enabled for LoRA; their
Triton kernels allocate on ``cuda`` and crash on CPU), ``gradient_checkpointing: false``, ``sample_packing: false``,
``dataloader_num_workers: 0``. No device map or ``use_cpu`` key is needed: Axolotl picks ``cpu`` itself.
SFT data: ``type: chat_template``, ``field_messages: messages``, ``roles_to_train: [assistant]``,
``train_on_eos: turn`` with top-level ``chat_template: chatml``. DPO data: ``rl: dpo``, ``rl_beta``,
``type: chatml.prompt_pairs`` over jsonl rows ``{"prompt", "chosen", "rejected"[, "system"]}`` (plain strings;
``chatml.intel`` is the same with ``question``); ``base_model`` is the SFT model merged by
``axolotl merge-lora cfg.yaml --lora-model-dir <out>`` (writes ``<out>/merged``).
Resume: ``auto_resume_from_checkpoints: true`` resumes from the highest ``output_dir/checkpoint-N`` (explicit
``resume_from_checkpoint: <dir>`` wins); checkpoints are not written atomically, so drop any without
``trainer_state.json`` first. Validation without training: ``axolotl_validate.py`` (``validate_config``).
Tiny demo model (0.79 M params), 120 SFT / 120 DPO rows, 2 busy cores: SFT ~15 s wall (3-4 s training),
merge ~8 s, DPO ~35 s (18 s training; plain TRL 1.16: 7 s), each command pays ~8 s of imports.
"""
