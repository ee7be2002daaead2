-- Run once by the postgres image on an empty volume, in POSTGRES_DB (`ecommerce`, the edge's):
-- one database per service alias, where an extracted service keeps its data
-- (settings.base.sibling_database: `ecommerce` -> `ecommerce_<alias>`).
CREATE DATABASE ecommerce_product OWNER ecommerce;
CREATE DATABASE ecommerce_cart OWNER ecommerce;
CREATE DATABASE ecommerce_order OWNER ecommerce;
CREATE DATABASE ecommerce_payment OWNER ecommerce;
CREATE DATABASE ecommerce_analytics OWNER ecommerce;
