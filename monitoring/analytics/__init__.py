"""The nightly snapshots' computations: plain rows in, plain dicts out, no ORM (DESIGN.md section 2).

- facts.py: the plain rows one school's snapshot is computed from (read by monitoring/selectors.py).
- equity.py: one school's equity cells with pandas (the only module here that imports it).
- implementation.py: one school's implementation health, and the district's as the sum of its schools.
- cells.py: subgroup values, the additive equations between cells, suppression of a school's and of the
  district's cells, the district cells as sums of the school cells.
- suppression.py: small-cell suppression over any table of counts and equations (DESIGN.md section 4).
"""
