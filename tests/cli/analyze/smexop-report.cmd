# smexop's own fields: X-Smexop-Antispam-Report (ACT, MID), Authentication-Results with bestguesspass and compauth 109, read from standard input
smexop analyze
stdin @DATA@/analyze/smexop-report.eml
