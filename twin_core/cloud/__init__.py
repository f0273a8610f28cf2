"""AWS SageMaker launchers: training jobs from our Axolotl recipes, real-time endpoints from our Triton repository.

Every request is rendered as plain data (the boto3 ``CreateTrainingJob`` / ``CreateModel`` / ... parameters),
checked against botocore's own service model and written to an artifacts folder; it is submitted only when AWS
credentials are present. Nothing here is imported unless ``trainer.launcher=sagemaker`` or ``serving.target=sagemaker``.
"""
