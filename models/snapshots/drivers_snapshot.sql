{% snapshot drivers_snapshot %}
{#- Every version of every driver (SCD2), in dbt's legacy block form. -#}
{{
    config(
        unique_key='driver_id',
        strategy='timestamp',
        updated_at='updated_at',
        hard_deletes='new_record'
    )
}}
select * from {{ ref('stg_drivers') }}
{% endsnapshot %}
