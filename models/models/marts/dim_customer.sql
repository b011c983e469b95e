-- SCD2: one row per version of a customer, from the snapshot.
select
    {{ generate_surrogate_key(['customer_id', 'dbt_valid_from']) }} as customer_sk,
    customer_id,
    first_name,
    last_name,
    email,
    phone,
    city,
    signup_date,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current,
    coalesce(dbt_is_deleted = 'True', false) as is_deleted
from {{ ref('customers_snapshot') }}
