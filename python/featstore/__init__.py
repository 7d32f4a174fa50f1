"""featstore: the Python client of the featstore PostgreSQL extension.

    from featstore import FeatureStore
    store = FeatureStore("dbname=mydb", redis_url="redis://127.0.0.1:6379")
    train = store.get_historical_features(labels_df, service="fraud_model_v3").to_df()
    online = store.get_online_features("fraud_model_v3", [{"user_id": "u42"}]).to_dict()

See docs/python.md.
"""

from .registry import (EntityKeyError, FeaturePermissionError, FeatstoreError, NotOnlineError,
                       UnknownFeatureError, UnknownFeatureGroupError, UnknownNameError,
                       UnknownServiceError)
from .store import FeatureStore, OnlineResponse, RedisUnavailableError, RetrievalJob

__version__ = "0.3.0"
__all__ = ["FeatureStore", "OnlineResponse", "RetrievalJob", "FeatstoreError",
           "UnknownNameError", "UnknownServiceError", "UnknownFeatureGroupError",
           "UnknownFeatureError", "NotOnlineError", "FeaturePermissionError",
           "EntityKeyError", "RedisUnavailableError"]
