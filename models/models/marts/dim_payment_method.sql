-- Type 1: the payment methods seen in the payments.
with methods as (
    select distinct method from {{ ref('stg_payments') }}
)
select
    {{ generate_surrogate_key(['method']) }} as payment_method_sk,
    method as payment_method,
    method <> 'cash' as is_digital
from methods
