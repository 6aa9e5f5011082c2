"""The SOC's working state: alerts, exceptions, cases, response actions and reported
e-mails, kept in the database; the pipeline that fills them from live ingest; the API."""
