"""``describe`` reports versions, BLAS and which optional extras are importable."""

import numpy as np

import chainrule as cr
from chainrule.environment import EXTRAS, describe


def test_describe_reports_versions_and_extras():
    facts = describe()
    assert facts["chainrule"] == cr.__version__ and facts["numpy"] == np.__version__
    assert set(facts["extras"]) == set(EXTRAS)
    assert facts["extras"]["matplotlib"]["found"] and facts["extras"]["numba"]["found"]  # in the test extra
    assert isinstance(facts["blas"], str) and facts["blas"]
