"""scikit-learn's own conformance suite, run on KMeans and MiniBatchKMeans."""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from kmeans import KMeans, MiniBatchKMeans

# Only the checks that scikit-learn expects its own KMeans and MiniBatchKMeans to
# fail (sklearn/utils/_test_common/instance_generator.py, PER_ESTIMATOR_XFAIL_CHECKS):
# the same two for both.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "k-means++ and random seeding draw rows in proportion to their weights, so "
        "weight 2 and a repeated row give the same distribution of seeds, not the "
        "same seeds; the fits then differ (scikit-learn's KMeans fails it too)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "as for dense data: the seeds are drawn differently, so the fits differ "
        "(scikit-learn's KMeans fails it too)"
    ),
}


MINIBATCH_EXPECTED_FAILED_CHECKS = dict.fromkeys(
    EXPECTED_FAILED_CHECKS,
    "the initial rows and the minibatches are drawn in proportion to the weights: "
    "weight 2 and a repeated row give the same distribution of draws, not the same "
    "draws (scikit-learn's MiniBatchKMeans fails it too)",
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, MiniBatchKMeans):
        return MINIBATCH_EXPECTED_FAILED_CHECKS
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [
        KMeans(n_clusters=3, n_init=2, random_state=0),
        # scikit-learn's own test parameters for its MiniBatchKMeans
        MiniBatchKMeans(n_clusters=2, n_init=2, max_iter=5, batch_size=10, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
