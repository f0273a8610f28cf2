"""What orchestrators (Airflow operators, the CLI) call to run a stage and to read the DAG specs."""
