"""The simple baselines every application is measured against, on the same split.

scikit-learn is the well-kept library for these; it is the optional extra ``apps``
(``pip install chainrule[apps]``), imported only when a baseline is asked for.
"""

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["logistic_regression", "require_sklearn"]


def require_sklearn(owner):
    """Import scikit-learn or raise an error that names the extra to install."""
    try:
        import sklearn
    except ImportError as exc:
        raise ChainruleError(f"{owner}: the baseline needs scikit-learn; install it with "
                             "pip install 'chainrule[apps]'.") from exc
    return sklearn


def logistic_regression(train_features, train_labels, test_features, test_labels, C=1.0, max_iter=1000,
                        standardize=True):
    """Test accuracy of a multinomial logistic regression fitted on the training rows.

    Features may be dense arrays or SciPy sparse matrices (TF-IDF). Dense features are
    standardised with the training rows' mean and spread first when ``standardize`` is True (for
    features of different units, such as MFCCs); pixels already share one scale, and standardising
    them would blow up the nearly constant border pixels, so image baselines pass False.
    """
    require_sklearn("logistic_regression")
    from sklearn.linear_model import LogisticRegression

    if isinstance(train_features, np.ndarray):
        train_features = train_features.reshape(len(train_features), -1).astype(np.float64)
        test_features = np.asarray(test_features).reshape(len(test_features), -1).astype(np.float64)
        if standardize:
            mean, spread = train_features.mean(0), train_features.std(0) + 1e-8
            train_features, test_features = (train_features - mean) / spread, (test_features - mean) / spread
    model = LogisticRegression(C=C, max_iter=max_iter)
    model.fit(train_features, np.asarray(train_labels))
    return float((model.predict(test_features) == np.asarray(test_labels)).mean())
